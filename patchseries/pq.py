"""Apply a series to a tree and export it back, like ``gbp pq``.

``apply`` is all or nothing: the series goes in with ``git am -3`` and,
at the first patch that does not apply, ``git am --abort`` puts the tree
back exactly as it was. ``export`` regenerates every patch file from the
commits on top of the base, with options chosen so that an unchanged
branch exports to the same bytes: no commit ids, no signature, no
``[PATCH n/m]`` numbering, a fixed abbreviation length.
"""

import logging
import os
import re
import shutil
import tempfile

from patchseries import detect
from patchseries import exceptions
from patchseries import git
from patchseries import series as series_mod
from patchseries import target as target_mod
from patchseries import tree as tree_mod

LOG = logging.getLogger(__name__)

FORMAT_PATCH_ARGS = ('format-patch', '--zero-commit', '--no-signature',
                     '--no-numbered', '--no-thread', '--no-attach',
                     '--no-cover-letter')


def _check_clean(repo):
    if not repo.is_repo():
        raise exceptions.TreeError(
            '%s is not the top of a git tree (make one with '
            '"patchseries tree PROJECT")' % repo.path)
    for marker in ('rebase-apply', 'rebase-merge', 'MERGE_HEAD'):
        if os.path.exists(os.path.join(repo.git_dir(), marker)):
            raise exceptions.TreeError(
                '%s: a git am, rebase or merge is in progress; finish or '
                'abort it first' % repo.path)
    dirty = repo.dirty_files()
    if dirty:
        raise exceptions.TreeError(
            '%s has uncommitted changes in %s; commit or stash them first'
            % (repo.path, ', '.join(dirty[:10])))


def _failed_files(repo, output):
    files = set(repo.unmerged_files())
    for pattern in (r'^error: patch failed: (\S+?):\d+$',
                    r'^error: (\S+): does not exist in index$',
                    r'^error: (\S+): already exists in working directory$',
                    r'^CONFLICT \([^)]*\): .*? in (\S+)$'):
        files.update(re.findall(pattern, output, re.MULTILINE))
    return sorted(files)


def _am(repo, patches):
    """``git am -3`` the patches; restore the tree on failure."""
    head = repo.head()
    proc = repo.run('am', '-3', '--committer-date-is-author-date',
                    '--quiet', *[p.path for p in patches], check=False)
    if proc.returncode == 0:
        return
    apply_dir = os.path.join(repo.git_dir(), 'rebase-apply')
    index = None
    try:
        with open(os.path.join(apply_dir, 'next')) as f:
            index = int(f.read().strip()) - 1
    except (OSError, ValueError):
        pass
    files = _failed_files(repo, proc.stdout)
    repo.run('am', '--abort', check=False)
    if repo.head() != head or repo.dirty_files():
        # NOTE: this should never happen; say so loudly instead of
        # claiming the tree is untouched.
        raise exceptions.TreeError(
            '%s: git am --abort did not restore %s; inspect the tree'
            % (repo.path, head))
    name = (patches[index].name if index is not None and
            0 <= index < len(patches) else 'a patch of the series')
    detail = '\n'.join(line for line in proc.stdout.splitlines()
                       if line.startswith(('error:', 'CONFLICT')))
    raise exceptions.ApplyConflict(name, files, detail)


def apply_series(repo, series, check=False):
    """Apply every patch of ``series`` to ``repo``.

    :param check: only find out whether the series applies; the series
        goes into a throw-away worktree and ``repo`` is not touched.
    :returns: the applied :class:`patchseries.series.Patch` list.
    :raises ApplyConflict: naming the first patch that does not apply.
    """
    _check_clean(repo)
    patches = series.patches
    if not patches:
        LOG.info('%s: the series is empty, nothing to apply', repo.path)
        return []
    if not check:
        _am(repo, patches)
        return patches
    scratch = tempfile.mkdtemp(prefix='patchseries-check-')
    worktree = os.path.join(scratch, 'tree')
    repo.run('worktree', 'add', '--quiet', '--detach', worktree, 'HEAD')
    try:
        _am(git.Repo(worktree), patches)
    finally:
        repo.run('worktree', 'remove', '--force', worktree, check=False)
        repo.run('worktree', 'prune', check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    return patches


def _read_patches(path):
    contents = {}
    for name in sorted(os.listdir(path)):
        if name.endswith('.patch'):
            with open(os.path.join(path, name), 'rb') as f:
                contents[name] = f.read()
    return contents


def compare_series(old, new):
    """What an export changed, from two ``{file name: content}`` maps.

    >>> compare_series({'a': 1, 'b': 2}, {'b': 3, 'c': 4})
    {'added': ['c'], 'removed': ['a'], 'changed': ['b']}
    """
    return {
        'added': sorted(set(new) - set(old)),
        'removed': sorted(set(old) - set(new)),
        'changed': sorted(n for n in set(old) & set(new)
                          if old[n] != new[n]),
    }


def export_series(repo, base, series_dir):
    """Write the commits ``base..HEAD`` of ``repo`` as the series.

    Every ``.patch`` file in ``series_dir`` is replaced, so a dropped
    commit drops its file.

    :returns: the :func:`compare_series` summary.
    """
    if repo.dirty_files():
        raise exceptions.TreeError(
            '%s has uncommitted changes in %s; they would not be exported, '
            'commit them first' % (repo.path, ', '.join(repo.dirty_files())))
    commits = repo.commits(base)
    for commit in commits:
        message = repo.out('log', '-1', '--format=%B', commit)
        ids = series_mod.CHANGE_ID_RE.findall(message)
        if len(ids) != 1:
            LOG.warning('commit %s has %d Change-Id footers, wants 1',
                        commit[:12], len(ids))
    scratch = tempfile.mkdtemp(prefix='patchseries-export-')
    try:
        if commits:
            repo.run('-c', 'core.abbrev=12', *FORMAT_PATCH_ARGS,
                     '--output-directory', scratch, '%s..HEAD' % base)
        os.makedirs(series_dir, exist_ok=True)
        old = _read_patches(series_dir)
        new = _read_patches(scratch)
        summary = compare_series(old, new)
        for name in old:
            os.unlink(os.path.join(series_dir, name))
        for name, data in new.items():
            with open(os.path.join(series_dir, name), 'wb') as f:
                f.write(data)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return summary


def _tree_release(args, target):
    """The release to use and how it was chosen."""
    if args.release:
        return target.release(args.release), 'named by --release'
    return detect.detect_release(target, args.tree)


def apply_cmd(args):
    target = target_mod.load_target(args.project)
    repo = git.Repo(args.tree)
    release, how = _tree_release(args, target)
    print('%s: %s is release %s (%s); its series was made for %s %s'
          % (target.name, repo.path, release.name, how, target.pypi_name,
             release.version))
    series = series_mod.Series(release.series_dir)
    applied = apply_series(repo, series, check=args.check)
    verb = 'applies cleanly' if args.check else 'applied'
    print('%s: %d patch(es) of the %s series %s to %s'
          % (target.name, len(applied), release.name, verb, repo.path))
    for patch in applied:
        print('  %s' % patch.subject)
    return 0


def export_cmd(args):
    target = target_mod.load_target(args.project)
    repo = git.Repo(args.tree)
    if not repo.is_repo():
        raise exceptions.TreeError('%s is not the top of a git tree'
                                   % repo.path)
    release = _tree_release(args, target)[0]
    base = args.base or tree_mod.pq_base(repo.branch())
    if not base:
        raise exceptions.TreeError(
            '%s is on %s, not on a patch-queue/ branch; name the commit '
            'the series starts from with --base' % (repo.path,
                                                    repo.branch()))
    summary = export_series(repo, base, release.series_dir)
    print('%s %s: exported %d patch(es) to %s'
          % (target.name, release.name, len(repo.commits(base)),
             release.series_dir))
    for key in ('added', 'changed', 'removed'):
        for name in summary[key]:
            print('  %s %s' % (key, name))
    return 0


def add_parsers(subparsers, common):
    apply_parser = subparsers.add_parser(
        'apply', parents=[common],
        help='apply a series to a tree (git am -3, all or nothing)')
    apply_parser.add_argument('project')
    apply_parser.add_argument('--tree', default='.',
                              help='the tree (default: .)')
    apply_parser.add_argument('--release',
                              help='the series to use (default: detected)')
    apply_parser.add_argument('--check', action='store_true',
                              help='only check that the series applies')
    apply_parser.set_defaults(func=apply_cmd)
    export_parser = subparsers.add_parser(
        'export', parents=[common],
        help='write the commits of a patch-queue branch as the series')
    export_parser.add_argument('project')
    export_parser.add_argument('--tree', default='.',
                               help='the tree (default: .)')
    export_parser.add_argument('--release',
                               help='the series to write (default: detected)')
    export_parser.add_argument(
        '--base', help='where the series starts (default: the upstream/ '
        'branch of the current patch-queue/ branch)')
    export_parser.set_defaults(func=export_cmd)
