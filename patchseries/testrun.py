"""Run an upstream test selection with stestr and read back what happened.

stestr's own console output goes to a log file; a watcher prints how far
the run is every few seconds, and the verdict of every test is read from
the run's subunit stream, so the report never depends on parsing text.

A run lists the test ids first and has stestr run exactly that list, so
a listed test no worker ran is seen (see :func:`run_selection`). Listing
means discovering the project's whole test path, as upstream's own runs
do (29 s for nova's unit tests on a 2-core machine, 38 s for cinder's),
before any worker starts; the list depends only on the tree's commit,
the test environment and the selection, so it is kept under a key of
those and read back by the next run of the same key.
"""

import hashlib
import io
import json
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
from patchseries import git

LOG = logging.getLogger(__name__)

PASSED = ('success', 'xfail')
# 'unrun': listed, yet no worker ran it (see run_selection).
FAILED = ('fail', 'uxsuccess', 'unrun')
SKIPPED = ('skip',)

# Bump when what a kept listing holds, or how its key is made, changes.
LISTING_LAYOUT = 1

# One line per finished test in stestr's console output.
_RESULT_LINE = re.compile(rb' \.\.\. (ok|FAILED|SKIPPED)')


class Results(object):
    """The verdict of every test of one run: ``{test id: status}``.

    ``seconds`` is the wall time of the run; ``test_seconds`` the sum of
    the tests' own times, as their workers timed them (stestr's "sum of
    execute time"). Over the number of workers, it is the least time any
    scheduling of the same tests can take.
    """

    def __init__(self, statuses, log_path=None, seconds=0.0,
                 test_seconds=0.0):
        self.statuses = dict(statuses)
        self.log_path = log_path
        self.seconds = seconds
        self.test_seconds = test_seconds

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
                       self.seconds + other.seconds,
                       self.test_seconds + other.test_seconds)

    def as_dict(self):
        return {'run': self.run, 'passed': self.passed,
                'failed': self.failed, 'skipped': self.skipped,
                'seconds': round(self.seconds, 1),
                'test_seconds': round(self.test_seconds, 1),
                'failures': self.ids(FAILED)}


def parse_subunit(stream, durations=None):
    """``{test id: status}`` from a subunit v2 byte stream.

    :param durations: a dict that gets ``{test id: seconds}`` of every
        test with a start and a stop time in the stream.
    """
    statuses = {}

    def on_test(test):
        if test['status'] not in ('exists', 'inprogress', None):
            statuses[test['id']] = test['status']
            start, stop = test['timestamps']
            if durations is not None and start and stop:
                durations[test['id']] = (stop - start).total_seconds()

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

    def __init__(self, label, log_path, total, every=15.0):
        super().__init__(daemon=True)
        self.label = label
        self.log_path = log_path
        self.total = total
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
            LOG.info('%s: %d of %d tests finished, %d failed, %ds elapsed',
                     self.label, done, self.total, failed,
                     time.monotonic() - self.start_time)


def selection_regexes(tests):
    """stestr filters for ``(module, regex or None)`` pairs.

    >>> selection_regexes([('a.test_b', None), ('a.test_c', 'snap')])
    ['^a\\\\.test_b\\\\.', '^a\\\\.test_c\\\\..*(?:snap)']
    """
    regexes = []
    for module, narrow in tests:
        regex = '^%s\\.' % re.escape(module)
        if narrow:
            regex += '.*(?:%s)' % narrow
        regexes.append(regex)
    return regexes


def run_selection(python_bin_dir, tree, test_path, tests, env, label,
                  log_path, concurrency=None, listing_cache=None):
    """Run the tests of ``tests`` (module and narrowing regex pairs).

    The test ids are listed first, then stestr runs exactly that list.
    A listed test that no worker reports is recorded as ``unrun``, a
    failure: a test whose id changes from one process to the next (ddt
    data made of random values, for one), or one a dying worker never
    reached, would otherwise vanish from both sides of a comparison
    without a word.

    :param python_bin_dir: the ``bin`` folder of the test environment.
    :param test_path: where stestr discovers the tests.
    :param tests: ``[(module or package, regex or None)]``; a regex
        keeps the test ids of the module it matches.
    :param env: extra environment variables (the project's tox setenv).
    :param log_path: where stestr's console output goes.
    :param listing_cache: a folder where the listing of a clean git tree
        is kept for the next run of the same commit, environment and
        selection (None: always list).
    :returns: :class:`Results`.
    :raises TestRunError: when the listing fails (an import error) or
        selects nothing, or stestr produced no results at all.
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
    regexes = selection_regexes(tests)
    kept = None
    if listing_cache:
        key = listing_key(tree, python_bin_dir, test_path, regexes, env)
        kept = key and os.path.join(listing_cache, '%s.txt' % key)
    with open(log_path, 'wb') as log:
        subprocess.run(base + ['init'], cwd=tree, env=run_env, stdout=log,
                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                       check=True)
        listed = _read_listing(kept, log)
        if listed is None:
            listed = _list_ids(base, tree, run_env, regexes, label, log)
            _keep_listing(kept, listed)
    list_file = os.path.join(repo_dir, 'selected-ids')
    _write_ids(list_file, listed)
    argv = base + ['run', '--load-list', list_file]
    if concurrency:
        argv += ['--concurrency', str(concurrency)]
    LOG.info('%s: running %d tests with stestr; log in %s', label,
             len(listed), log_path)
    watcher = _Watcher(label, log_path, len(listed))
    start = time.monotonic()
    with open(log_path, 'ab') as log:
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
    durations = {}
    statuses = (parse_subunit(io.BytesIO(last.stdout), durations)
                if last.stdout else {})
    if not statuses:
        raise exceptions.TestRunError(
            '%s: stestr ran no test (exit %d); the end of %s says:\n%s'
            % (label, proc.returncode, log_path, _tail(log_path)))
    unrun = sorted(set(listed) - set(statuses))
    if unrun:
        LOG.error('%s: %d listed tests never ran (a worker died, or their '
                  'ids differ from one process to the next): %s', label,
                  len(unrun), ', '.join(unrun))
        statuses.update((test_id, 'unrun') for test_id in unrun)
    results = Results(statuses, log_path, seconds, sum(durations.values()))
    LOG.info('%s: %d run, %d passed, %d failed, %d skipped in %ds',
             label, results.run, results.passed, results.failed,
             results.skipped, seconds)
    return results


def listing_key(tree, python_bin_dir, test_path, regexes, env):
    """The key of a listing: None unless ``tree`` is a clean git tree.

    The key covers the tree's commit, the test environment (its folder,
    named after its own key, and the Python in it), the test path, the
    selection and the environment variables of the run.
    """
    repo = git.Repo(tree)
    if not repo.is_repo():
        return None
    # NOTE: untracked files count too: a new test module changes the list.
    if repo.out('status', '--porcelain'):
        return None
    python = os.path.realpath(os.path.join(python_bin_dir, 'python'))
    facts = {'layout': LISTING_LAYOUT, 'commit': repo.head(),
             'env': os.path.realpath(python_bin_dir), 'python': python,
             'test_path': test_path, 'regexes': list(regexes),
             'test_env': dict(env)}
    return hashlib.sha256(json.dumps(facts, sort_keys=True)
                          .encode('utf-8')).hexdigest()[:20]


def _read_listing(path, log):
    if not path or not os.path.isfile(path):
        return None
    with open(path) as f:
        ids = [line.strip() for line in f if line.strip()]
    if not ids:
        return None
    log.write(b'test ids: %d, kept from an earlier listing of the same '
              b'commit, environment and selection (%s)\n'
              % (len(ids), path.encode('utf-8')))
    log.flush()
    return ids


def _keep_listing(path, ids):
    if not path:
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    scratch = path + '.tmp'
    _write_ids(scratch, ids)
    os.replace(scratch, path)


def _write_ids(path, ids):
    """One test id per line, as ``stestr run --load-list`` reads them."""
    with open(path, 'w') as f:
        f.write(''.join('%s\n' % test_id for test_id in ids))


def _list_ids(base, tree, run_env, regexes, label, log):
    """The test ids the selection's regexes pick (stestr list).

    stestr's output goes to ``log`` too.
    """
    start = time.monotonic()
    proc = subprocess.run(base + ['list'] + list(regexes), cwd=tree,
                          env=run_env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    log.write(b'$ stestr list (%d selection patterns): exit %d, %.1fs\n'
              % (len(regexes), proc.returncode, time.monotonic() - start))
    log.write(proc.stdout + proc.stderr)
    log.flush()
    out = proc.stdout.decode('utf-8', 'replace')
    if proc.returncode:
        raise exceptions.TestRunError(
            '%s: listing the selected tests failed (exit %d); an import '
            'error? stestr says:\n%s' % (
                label, proc.returncode,
                '\n'.join((out + proc.stderr.decode('utf-8', 'replace'))
                          .splitlines()[-25:])))
    # NOTE: a module that prints while it is imported can put text on
    # stdout between the ids; an id never holds a space.
    ids = [line.strip() for line in out.splitlines()
           if line.strip() and len(line.split()) == 1]
    if not ids:
        raise exceptions.TestRunError(
            '%s: the selection patterns match no test: %s'
            % (label, ' '.join(regexes)))
    return ids


def _tail(path, lines=25):
    with open(path, 'rb') as f:
        data = f.read().decode('utf-8', 'replace')
    return '\n'.join(data.splitlines()[-lines:])
