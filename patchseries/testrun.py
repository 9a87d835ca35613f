"""Run an upstream test selection with stestr and read back what happened.

stestr's own console output goes to a log file; a watcher prints how far
the run is every few seconds, and the verdict of every test is read from
the run's subunit stream, so the report never depends on parsing text.
"""

import io
import logging
import os
import re
import shutil
import subprocess
import threading
import time

import subunit
import testtools

from patchseries import exceptions

LOG = logging.getLogger(__name__)

PASSED = ('success', 'xfail')
FAILED = ('fail', 'uxsuccess')
SKIPPED = ('skip',)

# One line per finished test in stestr's console output.
_RESULT_LINE = re.compile(rb' \.\.\. (ok|FAILED|SKIPPED)')


class Results(object):
    """The verdict of every test of one run: ``{test id: status}``."""

    def __init__(self, statuses, log_path=None, seconds=0.0):
        self.statuses = dict(statuses)
        self.log_path = log_path
        self.seconds = seconds

    def ids(self, statuses=None):
        return sorted(i for i, s in self.statuses.items()
                      if statuses is None or s in statuses)

    @property
    def run(self):
        return len(self.statuses)

    @property
    def passed(self):
        return len(self.ids(PASSED))

    @property
    def failed(self):
        return len(self.ids(FAILED))

    @property
    def skipped(self):
        return len(self.ids(SKIPPED))

    def regressions(self, patched):
        """Tests that pass here but fail or vanished in ``patched``."""
        return sorted(i for i in self.ids(PASSED)
                      if patched.statuses.get(i) not in PASSED)

    def merged(self, other):
        """One result of two runs of the same side (unit, functional)."""
        statuses = dict(self.statuses)
        statuses.update(other.statuses)
        logs = [p for p in (self.log_path, other.log_path) if p]
        return Results(statuses, ', '.join(logs) or None,
                       self.seconds + other.seconds)

    def as_dict(self):
        return {'run': self.run, 'passed': self.passed,
                'failed': self.failed, 'skipped': self.skipped,
                'seconds': round(self.seconds, 1),
                'failures': self.ids(FAILED)}


def parse_subunit(stream):
    """``{test id: status}`` from a subunit v2 byte stream."""
    statuses = {}

    def on_test(test):
        if test['status'] not in ('exists', 'inprogress', None):
            statuses[test['id']] = test['status']

    result = testtools.StreamToDict(on_test)
    result.startTestRun()
    try:
        subunit.ByteStreamToStreamResult(
            stream, non_subunit_name='stdout').run(result)
    finally:
        result.stopTestRun()
    return statuses


class _Watcher(threading.Thread):
    """Prints progress of a running selection from stestr's log."""

    def __init__(self, label, log_path, every=15.0):
        super().__init__(daemon=True)
        self.label = label
        self.log_path = log_path
        self.every = every
        self.stopped = threading.Event()
        self.start_time = time.monotonic()

    def counts(self):
        try:
            with open(self.log_path, 'rb') as f:
                data = f.read()
        except OSError:
            return 0, 0
        done = failed = 0
        for match in _RESULT_LINE.finditer(data):
            done += 1
            if match.group(1) == b'FAILED':
                failed += 1
        return done, failed

    def run(self):
        while not self.stopped.wait(self.every):
            done, failed = self.counts()
            LOG.info('%s: %d tests finished, %d failed, %ds elapsed',
                     self.label, done, failed,
                     time.monotonic() - self.start_time)


def run_selection(python_bin_dir, tree, test_path, regexes, env, label,
                  log_path, concurrency=None):
    """Run the tests matching ``regexes`` under ``test_path`` of ``tree``.

    :param python_bin_dir: the ``bin`` folder of the test environment.
    :param env: extra environment variables (the project's tox setenv).
    :param log_path: where stestr's console output goes.
    :returns: :class:`Results`.
    :raises TestRunError: when stestr produced no results at all
        (typically an import error during discovery).
    """
    stestr = os.path.join(python_bin_dir, 'stestr')
    repo_dir = os.path.join(tree, '.stestr')
    shutil.rmtree(repo_dir, ignore_errors=True)
    run_env = dict(os.environ)
    run_env.update(env)
    run_env['PATH'] = python_bin_dir + os.pathsep + run_env.get('PATH', '')
    run_env.pop('PYTHONPATH', None)
    base = [stestr]
    if test_path:
        base += ['--test-path', test_path, '--top-dir', './']
    argv = base + ['run']
    if concurrency:
        argv += ['--concurrency', str(concurrency)]
    argv += list(regexes)
    LOG.info('%s: running %d selection pattern(s) with stestr; log in %s',
             label, len(regexes), log_path)
    watcher = _Watcher(label, log_path)
    start = time.monotonic()
    with open(log_path, 'wb') as log:
        watcher.start()
        try:
            proc = subprocess.run(argv, cwd=tree, env=run_env, stdout=log,
                                  stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        finally:
            watcher.stopped.set()
    seconds = time.monotonic() - start
    last = subprocess.run(base + ['last', '--subunit'], cwd=tree,
                          env=run_env, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    statuses = parse_subunit(io.BytesIO(last.stdout)) if last.stdout else {}
    if not statuses:
        raise exceptions.TestRunError(
            '%s: stestr ran no test (exit %d); the end of %s says:\n%s'
            % (label, proc.returncode, log_path, _tail(log_path)))
    results = Results(statuses, log_path, seconds)
    LOG.info('%s: %d run, %d passed, %d failed, %d skipped in %ds',
             label, results.run, results.passed, results.failed,
             results.skipped, seconds)
    return results


def _tail(path, lines=25):
    with open(path, 'rb') as f:
        data = f.read().decode('utf-8', 'replace')
    return '\n'.join(data.splitlines()[-lines:])
