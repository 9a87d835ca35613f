"""Trees: an upstream release as a git repository we can patch.

``make_tree`` turns a pinned sdist into a repository whose single base
commit is reproducible: the same sdist always gives the same commit id,
so series exported from one machine apply with ``git am -3`` (which needs
the base blobs) on any other. The base sits on ``upstream/<label>`` and
work happens on ``patch-queue/<label>``, as in ``gbp pq``.
"""

import logging
import os
import shutil

from patchseries import exceptions
from patchseries import git
from patchseries import sdist
from patchseries import target as target_mod

LOG = logging.getLogger(__name__)

UPSTREAM_PREFIX = 'upstream/'
PQ_PREFIX = 'patch-queue/'

# Test-run and build litter that must never show up as a change.
IGNORED = (
    '.stestr/',
    '__pycache__/',
    '*.py[co]',
    '*.egg-info/',
    '.eggs/',
    'build/',
    '.tox/',
    # glance's functional tests log into the working directory.
    'run_tests.log',
)


def upstream_branch(label):
    """The branch holding the imported release.

    >>> upstream_branch('nova-34.0.0')
    'upstream/nova-34.0.0'
    """
    return UPSTREAM_PREFIX + label


def pq_branch(label):
    """The branch the series is applied on.

    >>> pq_branch('nova-34.0.0')
    'patch-queue/nova-34.0.0'
    """
    return PQ_PREFIX + label


def pq_base(branch):
    """Map a patch-queue branch back to its upstream branch.

    >>> pq_base('patch-queue/nova-34.0.0')
    'upstream/nova-34.0.0'
    >>> pq_base('main') is None
    True
    """
    if branch and branch.startswith(PQ_PREFIX):
        return upstream_branch(branch[len(PQ_PREFIX):])
    return None


def ignore_litter(repo):
    """Make git ignore test-run litter, without touching tracked files."""
    path = os.path.join(repo.git_dir(), 'info', 'exclude')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    existing = ''
    if os.path.exists(path):
        with open(path) as f:
            existing = f.read()
    missing = [p for p in IGNORED if p not in existing.splitlines()]
    if missing:
        with open(path, 'a') as f:
            if existing and not existing.endswith('\n'):
                f.write('\n')
            f.write('# added by patchseries: test-run litter\n')
            f.write('\n'.join(missing) + '\n')


def make_tree(release, dest, cache_dir, force=False):
    """Create the git tree of ``release`` at ``dest``.

    :param force: replace ``dest`` if it exists.
    :returns: the :class:`patchseries.git.Repo` of the new tree.
    """
    dest = os.path.abspath(dest)
    if os.path.lexists(dest):
        if not force:
            raise exceptions.TreeError(
                '%s already exists; remove it or pass --force' % dest)
        shutil.rmtree(dest)
    path = sdist.fetch_sdist(release.target.pypi_name, release.version,
                             release.sha256, os.path.join(cache_dir, 'sdists'))
    LOG.info('%s: unpacking %s into %s', release.label,
             os.path.basename(path), dest)
    sdist.unpack_sdist(path, dest)
    repo = git.Repo(dest)
    repo.run('init', '--quiet')
    ignore_litter(repo)
    repo.run('add', '--all')
    date = {'GIT_AUTHOR_DATE': git.BASE_DATE,
            'GIT_COMMITTER_DATE': git.BASE_DATE}
    repo.run('commit', '--quiet', '--no-verify', '-m',
             'Import %s %s (%s) from its sdist'
             % (release.target.pypi_name, release.version, release.name),
             env=date)
    # NOTE: the series is authored by the project, not by whoever edits
    # it: commits made by hand in this tree get the identity that our
    # own git calls use.
    repo.run('config', 'user.name', git.IDENTITY[0])
    repo.run('config', 'user.email', git.IDENTITY[1])
    repo.run('branch', upstream_branch(release.label))
    repo.run('checkout', '--quiet', '-b', pq_branch(release.label))
    repo.run('branch', '--quiet', '-D', 'main')
    LOG.info('%s: base commit %s on %s', release.label, repo.head()[:12],
             upstream_branch(release.label))
    return repo


def tree_cmd(args):
    target = target_mod.load_target(args.project)
    release = target.release(args.release)
    dest = args.dest or release.label
    repo = make_tree(release, dest, args.cache_dir, force=args.force)
    print('%s: %s (on %s)' % (release.label, repo.path, repo.branch()))
    return 0


def add_parser(subparsers, common):
    parser = subparsers.add_parser(
        'tree', parents=[common],
        help='make a git tree of an upstream release from its sdist')
    parser.add_argument('project')
    parser.add_argument('--release', help='release name (default: newest)')
    parser.add_argument('--dest', help='where (default: ./<project>-<ver>)')
    parser.add_argument('--force', action='store_true',
                        help='replace DEST if it exists')
    parser.set_defaults(func=tree_cmd)
    return parser
