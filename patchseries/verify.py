"""verify: prove a series with upstream's own tests.

For each project: make the tree from the pinned sdist, build (or reuse)
its test environment, run the upstream selection on the unpatched tree,
apply the series, run the selection again plus the series' own tests,
and compare. A series passes when both runs are free of failures and no
test that passed unpatched fails or vanishes patched.
"""

import json
import logging
import os
import time

from patchseries import baseline as baseline_mod
from patchseries import exceptions
from patchseries import pq
from patchseries import series as series_mod
from patchseries import table as table_mod
from patchseries import target as target_mod
from patchseries import testrun
from patchseries import tree as tree_mod
from patchseries import venv as venv_mod

LOG = logging.getLogger(__name__)


class ProjectReport(object):
    """What ``verify`` found for one project."""

    def __init__(self, project):
        self.project = project
        self.release = None
        self.version = None
        self.patches = []
        self.unpatched = None
        self.patched = None
        self.steps = {}
        self.notes = []
        self.error = None
        self.side = None
        self.baseline_reused = False
        self.started = time.monotonic()
        self.seconds = 0.0

    @property
    def final(self):
        """The results that judge the series (patched when there is one)."""
        return self.patched or self.unpatched

    @property
    def regressions(self):
        if self.unpatched and self.patched:
            return self.unpatched.regressions(self.patched)
        return []

    @property
    def new_tests(self):
        if self.unpatched and self.patched:
            return sorted(set(self.patched.statuses) -
                          set(self.unpatched.statuses))
        return []

    @property
    def ok(self):
        return (self.error is None and self.unpatched is not None and
                self.unpatched.failed == 0 and self.final.failed == 0 and
                not self.regressions)

    def as_dict(self):
        return {
            'project': self.project,
            'release': self.release,
            'version': self.version,
            'patches': [p.name for p in self.patches],
            'unpatched': self.unpatched and self.unpatched.as_dict(),
            'patched': self.patched and self.patched.as_dict(),
            'regressions': self.regressions,
            'new_tests': self.new_tests,
            'steps': dict((k, round(v, 1)) for k, v in self.steps.items()),
            'seconds': round(self.seconds, 1),
            'notes': self.notes,
            'baseline_reused': self.baseline_reused,
            'error': self.error,
            'ok': self.ok,
        }


class _Step(object):
    def __init__(self, report, name):
        self.report = report
        self.name = name

    def __enter__(self):
        self.start = time.monotonic()
        LOG.info('%s: %s ...', self.report.project, self.name)

    def __exit__(self, *exc):
        self.report.steps[self.name] = time.monotonic() - self.start


def verify_project(project, cache_dir, fresh=False, release_name=None,
                   install_system_deps=False, run_tests=True,
                   reuse_baseline=True):
    """Verify one project's series.

    Failures of the project (a conflict, a failed build) land in the
    returned :class:`ProjectReport` instead of being raised.

    :param run_tests: False only prepares: the tree with the series
        applied, installed in its test environment (``bench`` uses it).
    :param reuse_baseline: take the unpatched results from the cache
        when a clean run with the same key is there (never with
        ``fresh``); see :mod:`patchseries.baseline`.
    """
    report = ProjectReport(project)
    try:
        _verify(report, cache_dir, fresh, release_name, install_system_deps,
                run_tests, reuse_baseline and not fresh)
    except exceptions.PatchSeriesError as exc:
        report.error = str(exc)
        LOG.error('%s: %s', project, exc)
    report.seconds = time.monotonic() - report.started
    return report


def _verify(report, cache_dir, fresh, release_name, install_system_deps,
            run_tests, reuse_baseline):
    target = target_mod.load_target(report.project)
    release = target.release(release_name)
    report.release, report.version = release.name, release.version
    missing = venv_mod.missing_commands(target.required_commands)
    if missing and install_system_deps:
        venv_mod.install_system_packages(missing.values())
        missing = venv_mod.missing_commands(target.required_commands)
    if missing:
        raise exceptions.VenvError(
            '%s tests need %s; install %s (apt-get install %s)'
            % (target.name, ', '.join(missing),
               ', '.join(sorted(set(missing.values()))),
               ' '.join(sorted(set(missing.values())))))
    series = series_mod.Series(release.series_dir)
    tree_path = os.path.join(cache_dir, 'trees', release.label)
    logs = os.path.join(cache_dir, 'logs')
    os.makedirs(logs, exist_ok=True)
    with _Step(report, 'tree'):
        repo = tree_mod.make_tree(release, tree_path, cache_dir, force=True)
    env = venv_mod.TestEnv(release, tree_path, cache_dir)
    with _Step(report, 'venv'):
        # A new environment has the tree installed already; a reused one
        # may hold the patched tree of an earlier run.
        if not env.ensure(fresh=fresh):
            env.install_tree()
    report.notes.extend(env.notes)
    report.side = table_mod.Side(release, tree_path, env.bin_dir, False)
    if run_tests:
        key = baseline_mod.baseline_key(
            release, env.key(), release.selections(patched=False),
            target.test_env, env.notes)
        cached = (baseline_mod.load_baseline(cache_dir, release.label, key)
                  if reuse_baseline else None)
        if cached:
            report.unpatched, when = cached
            report.baseline_reused = True
            report.notes.append(
                'unpatched baseline reused: run on %s with the same sdist, '
                'environment and selection (key %s); --rerun-baseline runs '
                'it again' % (when, key))
            LOG.info('%s: unpatched baseline reused (key %s, run on %s)',
                     report.project, key, when)
        else:
            with _Step(report, 'unpatched'):
                report.unpatched = _run_side(target, release, env, tree_path,
                                             logs, patched=False)
            baseline_mod.save_baseline(cache_dir, release.label, key,
                                       report.unpatched)
    if not len(series):
        report.notes.append('the series is empty: the patched run would '
                            'repeat the unpatched one, so it is skipped')
        return
    with _Step(report, 'apply'):
        report.patches = pq.apply_series(repo, series)
        report.side.patched = True
        env.install_tree()
    if not run_tests:
        return
    with _Step(report, 'patched'):
        report.patched = _run_side(target, release, env, tree_path, logs,
                                   patched=True)


def _run_side(target, release, env, tree_path, logs, patched):
    """Run every selection of one side; one :class:`Results` of them."""
    side = 'patched' if patched else 'unpatched'
    selections = release.selections(patched)
    if not selections:
        raise exceptions.TestRunError('%s: no test is selected'
                                      % release.label)
    results = None
    for name, test_path, regexes in selections:
        label = ' '.join(p for p in (release.label, side, name) if p)
        log = os.path.join(logs, '%s.log' % label.replace(' ', '-'))
        run = testrun.run_selection(env.bin_dir, tree_path, test_path,
                                    regexes, target.test_env, label, log)
        results = run if results is None else results.merged(run)
    return results


def _duration(seconds):
    """``75.2`` -> ``'1m15s'``.

    >>> _duration(75.2)
    '1m15s'
    >>> _duration(9)
    '9s'
    """
    minutes, seconds = divmod(int(round(seconds)), 60)
    return '%dm%02ds' % (minutes, seconds) if minutes else '%ds' % seconds


def _counts(results):
    if results is None:
        return '-'
    return '%d/%d/%d/%d' % (results.run, results.passed, results.failed,
                            results.skipped)


def format_report(reports):
    """The text an operator reads at the end of ``verify``."""
    lines = []
    for report in reports:
        lines.append('')
        lines.append('== %s %s (%s) ==' % (report.project,
                                           report.release or '?',
                                           report.version or '?'))
        if report.error:
            lines.append('ERROR: %s' % report.error)
        for patch in report.patches:
            lines.append('  applied %s' % patch.name)
        steps = ', '.join('%s %s' % (name, _duration(s))
                          for name, s in report.steps.items())
        lines.append('  wall time %s (%s)'
                     % (_duration(report.seconds), steps or 'no step ran'))
        for results, label in ((report.unpatched, 'unpatched'),
                               (report.patched, 'patched')):
            if results is not None:
                lines.append('  %s: %d run, %d passed, %d failed, '
                             '%d skipped (log: %s)'
                             % (label, results.run, results.passed,
                                results.failed, results.skipped,
                                results.log_path))
                for test_id in results.ids(testrun.FAILED):
                    lines.append('    FAILED %s' % test_id)
        for test_id in report.regressions:
            lines.append('  REGRESSION %s' % test_id)
        for note in report.notes:
            lines.append('  note: %s' % note)
    header = ('project', 'release', 'patches', 'unpatched r/p/f/s',
              'patched r/p/f/s', 'regressions', 'new tests', 'wall time',
              'result')
    rows = [header]
    for report in reports:
        rows.append((
            report.project,
            '%s (%s)' % (report.release or '?', report.version or '?'),
            str(len(report.patches)),
            _counts(report.unpatched) +
            (' (reused)' if report.baseline_reused else ''),
            _counts(report.patched) if report.patched else
            ('= unpatched' if report.unpatched else '-'),
            str(len(report.regressions)),
            str(len(report.new_tests)),
            _duration(report.seconds),
            'ok' if report.ok else 'FAILED'))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines.append('')
    for index, row in enumerate(rows):
        lines.append('  '.join(cell.ljust(width)
                               for cell, width in zip(row, widths)).rstrip())
        if index == 0:
            lines.append('  '.join('-' * width for width in widths))
    return '\n'.join(lines)


def verify_cmd(args):
    projects = args.projects or list(target_mod.PROJECTS)
    for project in projects:
        if project not in target_mod.PROJECTS:
            raise exceptions.UnknownProject(project, target_mod.PROJECTS)
    reports = [verify_project(project, args.cache_dir, fresh=args.fresh,
                              release_name=args.release,
                              install_system_deps=args.install_system_deps,
                              reuse_baseline=not args.rerun_baseline)
               for project in projects]
    print(format_report(reports))
    table = None
    if not args.no_table:
        table = run_scenario_table(reports, args.cache_dir)
        print('\n== scenario table: where each upload lands ==\n')
        print(table['text'])
        for line in table['skipped']:
            print('  skipped: %s' % line)
        print('\nscenario rows: %d run, %d failed'
              % (table['rows'], table['failed']))
    if args.report:
        with open(args.report, 'w') as f:
            json.dump({'projects': [r.as_dict() for r in reports],
                       'scenarios': table}, f, indent=2, sort_keys=True)
    ok = all(r.ok for r in reports) and not (table and table['failed'])
    return 0 if ok else 1


def run_scenario_table(reports, cache_dir):
    """The scenario table over the projects that verified cleanly."""
    sides = dict((r.project, r.side) for r in reports
                 if r.side is not None and r.error is None)
    start = time.monotonic()
    text, failed, skipped = table_mod.run_table(sides, cache_dir)
    rows = sum(1 for line in text.splitlines()
               if line.rstrip().endswith((' ok', ' FAILED')))
    return {'text': text, 'failed': failed, 'rows': rows,
            'skipped': skipped,
            'seconds': round(time.monotonic() - start, 1)}


def add_parser(subparsers, common):
    parser = subparsers.add_parser(
        'verify', parents=[common],
        help='run upstream tests unpatched and patched, and compare')
    parser.add_argument('projects', nargs='*', metavar='PROJECT',
                        help='default: %s' % ' '.join(target_mod.PROJECTS))
    parser.add_argument('--release', help='release name (default: newest)')
    parser.add_argument('--fresh', action='store_true',
                        help='rebuild the test environments')
    parser.add_argument(
        '--rerun-baseline', action='store_true',
        help='run the unpatched tests even when a clean baseline with the '
        'same sdist, environment and selection is cached')
    parser.add_argument('--report', metavar='FILE',
                        help='also write the results as JSON')
    parser.add_argument(
        '--no-table', action='store_true',
        help='skip the scenario table (fake and real Glance) at the end')
    parser.add_argument(
        '--install-system-deps', action='store_true',
        help='install missing Debian packages the tests need (as root, '
        'with apt-get); without it a missing one is an error')
    parser.set_defaults(func=verify_cmd)
    return parser
