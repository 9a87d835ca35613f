"""verify: prove a series with upstream's own tests.

For each (project, release) pair: make the tree from the pinned sdist,
build (or reuse) its test environment, run the upstream selection on the
unpatched tree, apply the series, run the selection again plus the
series' own tests, and compare. A series passes when both runs are free
of failures and no test that passed unpatched fails or vanishes patched.

Without ``--release`` every release of each project is verified. The
tree and environment of the next pair are made in a second thread while
the tests of the current pair run (making them is mostly download, git
and uv; the tests are CPU).
"""

import concurrent.futures
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

    def __init__(self, project, release=None):
        self.project = project
        self.release = release
        self.version = None
        self.patches = []
        self.unpatched = None
        self.patched = None
        self.steps = {}
        self.notes = []
        self.error = None
        self.side = None
        self.baseline_reused = False
        # Time spent on this pair (preparing and testing), not waiting.
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
        LOG.info('%s %s: %s ...', self.report.project,
                 self.report.release or '', self.name)

    def __exit__(self, *exc):
        self.report.steps[self.name] = time.monotonic() - self.start


def verify_project(project, cache_dir, fresh=False, release_name=None,
                   install_system_deps=False, run_tests=True,
                   reuse_baseline=True):
    """Verify one project's series on one release (default: the newest).

    Failures of the project (a conflict, a failed build) land in the
    returned :class:`ProjectReport` instead of being raised.

    :param run_tests: False only prepares: the tree with the series
        applied, installed in its test environment (``bench`` uses it).
    :param reuse_baseline: take the unpatched results from the cache
        when a clean run with the same key is there (never with
        ``fresh``); see :mod:`patchseries.baseline`.
    """
    report = ProjectReport(project, release_name)
    work = _prepare(report, cache_dir, fresh, install_system_deps)
    if work is not None:
        _test(report, work, run_tests, reuse_baseline and not fresh)
    return report


class _Work(object):
    """What preparing a pair made, for its test stage."""

    def __init__(self, target, release, tree_path, repo, env, logs,
                 cache_dir):
        self.cache_dir = cache_dir
        self.target = target
        self.release = release
        self.tree_path = tree_path
        self.repo = repo
        self.env = env
        self.logs = logs


def _guarded(report, func, *args):
    """Run one stage; a project's failure lands in its report.

    :returns: what ``func`` returned, None after a failure.
    """
    start = time.monotonic()
    try:
        return func(report, *args)
    except exceptions.PatchSeriesError as exc:
        report.error = str(exc)
        LOG.error('%s %s: %s', report.project, report.release or '', exc)
    finally:
        report.seconds += time.monotonic() - start


def _prepare(report, cache_dir, fresh, install_system_deps):
    """The tree and test environment of one pair (a :class:`_Work`)."""
    return _guarded(report, prepare_pair, cache_dir, fresh,
                    install_system_deps)


def _test(report, work, run_tests, reuse_baseline):
    _guarded(report, _test_pair, work, run_tests, reuse_baseline)


def check_constraints(release):
    """Refuse a release whose constraints file is named but missing."""
    if release.constraints and not os.path.isfile(release.constraints):
        raise exceptions.VenvError(
            '%s %s (%s): its constraints file %s does not exist; write it '
            '(README.rst, "Constraints") or leave the release out with '
            '--release' % (release.target.name, release.name,
                           release.version, release.constraints))


def prepare_pair(report, cache_dir, fresh, install_system_deps):
    """Make a pair's tree (at upstream) and its test environment.

    :returns: a :class:`_Work`; ``report`` gets the release's facts.
    :raises PatchSeriesError: (a subclass) when either cannot be made.
    """
    target = target_mod.load_target(report.project)
    release = target.release(report.release)
    report.release, report.version = release.name, release.version
    check_constraints(release)
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
    return _Work(target, release, tree_path, repo, env, logs, cache_dir)


def _test_pair(report, work, run_tests, reuse_baseline):
    target, release, env = work.target, work.release, work.env
    tree_path, logs, cache_dir = work.tree_path, work.logs, work.cache_dir
    series = series_mod.Series(release.series_dir)
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
                     release.label, key, when)
        else:
            with _Step(report, 'unpatched'):
                report.unpatched = _run_side(target, release, env, tree_path,
                                             logs, False, cache_dir)
            baseline_mod.save_baseline(cache_dir, release.label, key,
                                       report.unpatched)
    if not len(series):
        report.notes.append('the series is empty: the patched run would '
                            'repeat the unpatched one, so it is skipped')
        return
    with _Step(report, 'apply'):
        report.patches = pq.apply_series(work.repo, series)
        report.side.patched = True
        env.install_tree()
    if not run_tests:
        return
    with _Step(report, 'patched'):
        report.patched = _run_side(target, release, env, tree_path, logs,
                                   True, cache_dir)


def release_names(target, requested=None):
    """The release names of ``target`` to verify, newest first.

    :param requested: names (or versions) given with ``--release``;
        None: every release.
    """
    if not requested:
        return [name for name, _label in reversed(target.known())]
    return [target.release(name).name for name in requested]


def verify_pairs(pairs, cache_dir, fresh=False, install_system_deps=False,
                 reuse_baseline=True, prepare_ahead=True, on_release=None):
    """Verify ``[(project, release name)]``; one report per pair, in order.

    :param prepare_ahead: make the tree and environment of the next
        pairs in a second thread while the tests of a pair run.
    :param on_release: called as ``on_release(name, reports)`` once
        the last pair of a release is done (pairs come grouped by
        release, as :func:`plan_pairs` gives them).
    """
    reports = [ProjectReport(project, release) for project, release in pairs]
    reuse = reuse_baseline and not fresh

    def prepare(report):
        return _prepare(report, cache_dir, fresh, install_system_deps)

    def tested(index, report, work):
        if work is not None:
            _test(report, work, True, reuse)
        last = (index + 1 == len(reports) or
                reports[index + 1].release != report.release)
        if on_release is not None and last:
            on_release(report.release, [r for r in reports
                                        if r.release == report.release])

    if not prepare_ahead:
        for index, report in enumerate(reports):
            tested(index, report, prepare(report))
        return reports
    # NOTE: one thread prepares the pairs in order, so at most one uv
    # build runs beside the tests.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        works = [pool.submit(prepare, report) for report in reports]
        for index, (report, work) in enumerate(zip(reports, works)):
            tested(index, report, work.result())
    return reports


def _run_side(target, release, env, tree_path, logs, patched, cache_dir):
    """Run every selection of one side; one :class:`Results` of them."""
    side = 'patched' if patched else 'unpatched'
    selections = release.selections(patched)
    if not selections:
        raise exceptions.TestRunError('%s: no test is selected'
                                      % release.label)
    results = None
    for name, test_path, tests in selections:
        label = ' '.join(p for p in (release.label, side, name) if p)
        log = os.path.join(logs, '%s.log' % label.replace(' ', '-'))
        run = testrun.run_selection(
            env.bin_dir, tree_path, test_path, tests, target.test_env, label,
            log, listing_cache=os.path.join(cache_dir, 'listings'))
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


def _sum_counts(many):
    many = [r for r in many if r is not None]
    if not many:
        return '-'
    return '%d/%d/%d/%d' % tuple(
        sum(getattr(r, attr) for r in many)
        for attr in ('run', 'passed', 'failed', 'skipped'))


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
    if len(reports) > 1:
        rows.append((
            'total', '%d pairs' % len(reports),
            str(sum(len(r.patches) for r in reports)),
            _sum_counts(r.unpatched for r in reports),
            _sum_counts(r.final for r in reports),
            str(sum(len(r.regressions) for r in reports)),
            str(sum(len(r.new_tests) for r in reports)),
            _duration(sum(r.seconds for r in reports)),
            'ok' if all(r.ok for r in reports) else
            '%d FAILED' % sum(1 for r in reports if not r.ok)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines.append('')
    for index, row in enumerate(rows):
        lines.append('  '.join(cell.ljust(width)
                               for cell, width in zip(row, widths)).rstrip())
        if index == 0 or (index == len(rows) - 2 and len(reports) > 1):
            lines.append('  '.join('-' * width for width in widths))
    return '\n'.join(lines)


def _release_order(name):
    """``'2025.1'`` -> ``(2025, 1)``, to sort release names."""
    return tuple(int(part) if part.isdigit() else 0
                 for part in name.replace('-', '.').split('.'))


def requested_releases(values):
    """``--release`` values (repeated, or comma lists) as one list.

    >>> requested_releases(['2026.2,2025.1', '2024.1'])
    ['2026.2', '2025.1', '2024.1']
    >>> requested_releases(None)
    []
    """
    names = []
    for value in values or ():
        for name in value.split(','):
            name = name.strip()
            if name and name not in names:
                names.append(name)
    return names


def plan_pairs(projects, requested=None):
    """``[(project, release name)]``: newest release first, then projects.

    Grouping by release lets the scenario table of a release use the
    Nova, Cinder and Glance of that same release.
    """
    by_project = {}
    for project in projects:
        target = target_mod.load_target(project)
        by_project[project] = release_names(target, requested)
    order = []
    for project in projects:
        for name in by_project[project]:
            if name not in order:
                order.append(name)
    order.sort(key=_release_order, reverse=True)
    return [(project, name) for name in order for project in projects
            if name in by_project[project]]


def verify_cmd(args):
    projects = args.projects or list(target_mod.PROJECTS)
    for project in projects:
        if project not in target_mod.PROJECTS:
            raise exceptions.UnknownProject(project, target_mod.PROJECTS)
    pairs = plan_pairs(projects, requested_releases(args.release))
    table = None
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as tables:
        # NOTE: a release's table runs as soon as its pairs are done,
        # beside the tests of the next release: it has trees and
        # environments of its own, and spends much of its time waiting
        # on Glance.
        sections = []

        def on_release(name, group):
            if not args.no_table:
                sections.append(tables.submit(release_table, name, group,
                                              args.cache_dir))

        reports = verify_pairs(pairs, args.cache_dir, fresh=args.fresh,
                               install_system_deps=args.install_system_deps,
                               reuse_baseline=not args.rerun_baseline,
                               on_release=on_release)
        print(format_report(reports))
        if not args.no_table:
            table = combine_tables([s.result() for s in sections])
    if table is not None:
        print('\n== scenario table: where each upload lands ==')
        print(table['text'])
        print('\nscenario rows: %d run, %d failed (%s)' % (
            table['rows'], table['failed'], '; '.join(
                '%s: %d run, %d failed' % (
                    r['release'], r['rows'], r['failed'])
                for r in table['releases']) or 'no release'))
    if args.report:
        with open(args.report, 'w') as f:
            json.dump({'projects': [r.as_dict() for r in reports],
                       'scenarios': table}, f, indent=2, sort_keys=True)
    ok = all(r.ok for r in reports) and not (table and table['failed'])
    return 0 if ok else 1


def _count_rows(text):
    return sum(1 for line in text.splitlines()
               if line.rstrip().endswith((' ok', ' FAILED')))


def release_table(name, reports, cache_dir):
    """The scenario table of one release: one entry of ``releases``.

    It runs with the projects that verified cleanly on that release.
    """
    sides = dict((r.project, r.side) for r in reports
                 if r.release == name and r.side is not None and
                 r.error is None)
    began = time.monotonic()
    LOG.info('scenario table of %s ...', name)
    text, failed, skipped = table_mod.run_table(sides, cache_dir,
                                                release=name)
    return {'release': name,
            'versions': ', '.join('%s %s' % (r.project, r.version)
                                  for r in reports if r.release == name),
            'text': text, 'rows': _count_rows(text), 'failed': failed,
            'skipped': skipped,
            'seconds': round(time.monotonic() - began, 1)}


def combine_tables(sections):
    """The report's ``scenarios``: totals and the release sections.

    ``seconds`` is the sum of the tables' wall times (they may have run
    beside the tests of other releases).
    """
    texts = []
    for section in sections:
        lines = ['', '=== release %s (%s): %d rows, %d failed, %s ===' % (
            section['release'], section['versions'], section['rows'],
            section['failed'], _duration(section['seconds'])),
            section['text']]
        lines.extend('  skipped: %s' % line for line in section['skipped'])
        texts.append('\n'.join(lines))
    rows = sum(s['rows'] for s in sections)
    failed = sum(s['failed'] for s in sections)
    texts.append('\n=== total: %d releases, %d rows, %d failed ===' % (
        len(sections), rows, failed))
    return {'text': '\n'.join(texts), 'failed': failed, 'rows': rows,
            'skipped': ['%s: %s' % (s['release'], line)
                        for s in sections for line in s['skipped']],
            'releases': sections,
            'seconds': round(sum(s['seconds'] for s in sections), 1)}


def run_scenario_table(reports, cache_dir):
    """The scenario table of each release, one after the other.

    :returns: totals (``rows``, ``failed``, ``seconds``, ``text``,
        ``skipped``) and one entry per release under ``releases``.
    """
    releases = []
    for report in reports:
        if report.release not in releases:
            releases.append(report.release)
    return combine_tables([release_table(name, reports, cache_dir)
                           for name in releases])


def add_parser(subparsers, common):
    parser = subparsers.add_parser(
        'verify', parents=[common],
        help='run upstream tests unpatched and patched, and compare')
    parser.add_argument('projects', nargs='*', metavar='PROJECT',
                        help='default: %s' % ' '.join(target_mod.PROJECTS))
    parser.add_argument(
        '--release', action='append', metavar='NAME',
        help='verify only this release (name or version); repeat it or '
        'give a comma list (default: every release of each project)')
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
