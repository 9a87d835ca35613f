"""``patchseries commits``: every commit of a series passes on its own.

Upstream CI tests each change of a series at its own place in the
queue, so a commit must not lean on a later one. ``commits`` replays
that: it applies a release's series to its tree and, at each commit,
runs the upstream test modules the commit touches, as far as the
release selects them (the selection's narrowing regex, if any, holds
here too). The tree is left at the series' last commit, as ``verify``
leaves it.
"""

import logging
import os

from patchseries import exceptions
from patchseries import pq
from patchseries import series as series_mod
from patchseries import target as target_mod
from patchseries import testrun
from patchseries import tree as tree_mod
from patchseries import verify as verify_mod

LOG = logging.getLogger(__name__)

# setup.cfg names entry points; a commit changing it is installed again.
_INSTALL_FILES = ('setup.cfg', 'setup.py', 'requirements.txt')


def touched_modules(paths):
    """Dotted names of the test modules among changed ``paths``.

    >>> touched_modules(['nova/compute/api.py',
    ...                  'nova/tests/unit/compute/test_api.py',
    ...                  'nova/tests/fixtures/glance.py'])
    ['nova.tests.unit.compute.test_api']
    """
    return sorted(filter(None, map(target_mod.test_module, paths)))


class CommitResult(object):
    """The touched test modules of one commit and how they did."""

    def __init__(self, sha, subject, modules, unselected):
        self.sha = sha
        self.subject = subject
        self.modules = modules
        self.unselected = unselected
        self.results = None

    @property
    def ok(self):
        if self.unselected:
            return False
        return self.results is None or not self.results.failed

    def as_dict(self):
        return {'sha': self.sha, 'subject': self.subject,
                'modules': self.modules, 'unselected': self.unselected,
                'results': (self.results.as_dict()
                            if self.results is not None else None)}


def plan(release, changed):
    """Which selections run at a commit that changed ``changed`` paths.

    :returns: ``(modules, unselected, runs)`` where ``runs`` is
        ``[(selection name, test path, [(module, regex)])]`` and
        ``unselected``
        lists touched test modules the release does not select (the
        series lint refuses those; here they fail the commit).
    """
    modules = touched_modules(changed)
    unselected, by_run = [], {}
    for module in modules:
        where = release.selection_for(module)
        if where is None:
            unselected.append(module)
            continue
        name, test_path, narrow = where
        by_run.setdefault((name, test_path), []).append((module, narrow))
    runs = [(name, test_path, tuple(tests))
            for (name, test_path), tests in sorted(by_run.items())]
    return modules, unselected, runs


def check_commits(project, release_name, cache_dir,
                  install_system_deps=False):
    """Run each commit's touched test modules at that commit.

    :returns: ``(release, [CommitResult])``, oldest commit first.
    """
    report = verify_mod.ProjectReport(project, release_name)
    work = verify_mod.prepare_pair(report, cache_dir, False,
                                   install_system_deps)
    release, repo, env = work.release, work.repo, work.env
    series = series_mod.Series(release.series_dir)
    if not len(series):
        raise exceptions.PatchSeriesError(
            '%s %s: the series is empty, there is no commit to check'
            % (project, release.name))
    pq.apply_series(repo, series)
    branch = tree_mod.pq_branch(release.label)
    checked = []
    try:
        for sha in repo.commits(tree_mod.upstream_branch(release.label),
                                branch):
            subject = repo.out('log', '-1', '--format=%s', sha)
            changed = repo.out('diff-tree', '--no-commit-id', '--name-only',
                               '-r', sha).splitlines()
            modules, unselected, runs = plan(release, changed)
            result = CommitResult(sha, subject, modules, unselected)
            checked.append(result)
            if not runs:
                LOG.info('%s %s: no selected test module', sha[:10], subject)
                continue
            repo.run('checkout', '--quiet', '--detach', sha)
            if any(path in _INSTALL_FILES for path in changed):
                env.install_tree()
            for name, test_path, tests in runs:
                label = '%s %s %s' % (release.label, sha[:10],
                                      name or 'unit')
                log = os.path.join(work.logs,
                                   '%s.log' % label.replace(' ', '-'))
                run = testrun.run_selection(
                    env.bin_dir, work.tree_path, test_path, tests,
                    work.target.test_env, label, log,
                    listing_cache=os.path.join(cache_dir, 'listings'))
                result.results = (run if result.results is None
                                  else result.results.merged(run))
    finally:
        repo.run('checkout', '--quiet', branch)
        env.install_tree()
    return release, checked


def format_commits(project, release, checked):
    lines = ['%s %s (%s): %d commits' % (
        project, release.name, release.version, len(checked))]
    for result in checked:
        if result.results is None:
            counts = 'no selected test module'
        else:
            counts = '%d passed, %d failed' % (result.results.passed,
                                               result.results.failed)
        lines.append('  %s %-58s %s%s' % (
            result.sha[:10], result.subject[:58], counts,
            '' if result.ok else '  FAILED'))
        for module in result.unselected:
            lines.append('      %s is not in the release selection'
                         % module)
        if result.results is not None:
            for test in result.results.ids(testrun.FAILED):
                lines.append('      failed: %s' % test)
    return '\n'.join(lines)


def commits_cmd(args):
    if args.project not in target_mod.PROJECTS:
        raise exceptions.UnknownProject(args.project, target_mod.PROJECTS)
    release, checked = check_commits(args.project, args.release,
                                     args.cache_dir,
                                     args.install_system_deps)
    print(format_commits(args.project, release, checked))
    return 0 if all(result.ok for result in checked) else 1


def add_parser(subparsers, common):
    parser = subparsers.add_parser(
        'commits', parents=[common],
        help='run the test modules each commit of a series touches, at '
        'that commit')
    parser.add_argument('project', metavar='PROJECT',
                        help='one of %s' % ', '.join(target_mod.PROJECTS))
    parser.add_argument('--release', metavar='NAME',
                        help='release name or version (default: newest)')
    parser.add_argument(
        '--install-system-deps', action='store_true',
        help='as for verify: install missing Debian packages')
    parser.set_defaults(func=commits_cmd)
    return parser
