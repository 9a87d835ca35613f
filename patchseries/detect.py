"""Which release a tree is, so that ``apply`` picks the right series.

A tree is a release tarball, a tree made by ``patchseries tree``, or a
git checkout of upstream, on a stable branch head or at a tag. The
evidence is read in order of trust:

1. the sdist's own ``PKG-INFO`` (a tarball says exactly what it is);
2. git: a branch named after a release (``stable/2026.1``,
   ``unmaintained/2024.1``), checked out or holding HEAD; otherwise the
   nearest tag (``33.0.2``, ``33.0.2-10-g68fdaf29e6`` for a stable head,
   ``2024.1-eom`` on an unmaintained branch);
3. pbr's metadata of an installed tree (``<name>.egg-info/PKG-INFO``).

A version maps to the release of the same major version, as OpenStack
gives each release series a major of its own.
"""

import email.parser
import glob
import logging
import os
import re

from patchseries import exceptions
from patchseries import git

LOG = logging.getLogger(__name__)

# Release branches of openstack projects, local or remote-tracking.
_RELEASE_BRANCH = re.compile(
    r'(?:^|/)(?:stable|unmaintained)/(\d{4}\.\d)$')
# End-of-maintenance and end-of-life tags name their release.
_RELEASE_TAG = re.compile(r'^(\d{4}\.\d)-eo[ml]$')
# What ``git describe --long`` prints: tag, distance, abbreviated id.
_DESCRIBE = re.compile(r'^(?P<tag>.+)-(?P<distance>\d+)-g(?P<sha>[0-9a-f]+)$')


def release_branch(ref):
    """The release a branch is named after, or None.

    >>> release_branch('stable/2026.1')
    '2026.1'
    >>> release_branch('origin/unmaintained/2024.1')
    '2024.1'
    >>> release_branch('master') is None
    True
    """
    match = _RELEASE_BRANCH.search(ref or '')
    return match.group(1) if match else None


def parse_describe(text):
    """Split ``git describe --long`` output into tag and distance.

    >>> parse_describe('33.0.2-10-g68fdaf29e6')
    ('33.0.2', 10)
    >>> parse_describe('2024.1-eom-19-gb5b2820475')
    ('2024.1-eom', 19)
    >>> parse_describe('33.0.2') is None
    True
    """
    match = _DESCRIBE.match(text or '')
    if not match:
        return None
    return match.group('tag'), int(match.group('distance'))


def describe_tag(tag, distance):
    """What a nearest tag says: ``('release' or 'version', value)``.

    >>> describe_tag('2024.1-eom', 19)
    ('release', '2024.1')
    >>> describe_tag('33.0.2', 10)
    ('version', '33.0.2')
    >>> describe_tag('zed-eom', 0) is None
    True
    """
    match = _RELEASE_TAG.match(tag)
    if match:
        return 'release', match.group(1)
    if re.match(r'^\d+\.\d+', tag):
        return 'version', tag
    return None


def _pkg_info_version(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        headers = email.parser.Parser().parse(f, headersonly=True)
    return headers.get('Version')


def _from_git(repo):
    """``(kind, value, how)`` from a git checkout, or None."""
    described = None
    proc = repo.run('describe', '--tags', '--long', '--match', '[0-9]*',
                    check=False)
    if proc.returncode == 0:
        described = proc.stdout.strip()
    branch = repo.branch()
    on = ' on %s' % branch if branch else ' (detached HEAD)'
    where = ('git describe %s%s' % (described, on) if described
             else 'git%s' % on)
    name = release_branch(branch)
    if name:
        return 'release', name, where
    # NOTE: a commit older than a branch point is held by the branch of
    # that release and by every newer one; it was made while developing
    # the oldest of them.
    held = _release_branches(repo, '--contains', 'HEAD')
    if held:
        return 'release', held[0], '%s, held by a %s branch' % (
            where, held[0])
    parsed = parse_describe(described)
    if not parsed:
        return None
    tag, distance = parsed
    # NOTE: master carries the final tag of the release it was branched
    # from (33.0.0) until the next release candidate is tagged, so a
    # commit past a final tag that no release branch holds, in a clone
    # that has release branches, is the development of a later release.
    if (distance and re.match(r'^\d+\.\d+\.\d+$', tag) and
            _release_branches(repo)):
        return 'development', tag, '%s, held by no release branch' % where
    said = describe_tag(tag, distance)
    if said:
        return said[0], said[1], where
    return None


def _release_branches(repo, *args):
    """Releases that have a branch here, oldest first."""
    refs = repo.run('for-each-ref', '--format=%(refname:short)',
                    *(args + ('refs/heads', 'refs/remotes')),
                    check=False).stdout.split()
    return sorted(set(filter(None, map(release_branch, refs))))


def detect(path, pypi_name):
    """Find what the tree at ``path`` is.

    :returns: ``(kind, value, how)`` where kind is ``'version'`` (an
        upstream version such as ``33.0.2``), ``'release'`` (a release
        name such as ``2026.1``) or ``'development'`` (commits past the
        final tag ``value`` that no release branch holds), or
        ``(None, None, reasons)``.
    """
    top = os.path.join(path, 'PKG-INFO')
    if os.path.isfile(top):
        version = _pkg_info_version(top)
        if version:
            return 'version', version, 'PKG-INFO'
    repo = git.Repo(path)
    if repo.is_repo():
        found = _from_git(repo)
        if found:
            return found
    pattern = os.path.join(
        path, '%s.egg-info' % re.sub('[-.]', '_', pypi_name), 'PKG-INFO')
    for egg in glob.glob(pattern):
        version = _pkg_info_version(egg)
        if version:
            return ('version', version,
                    'pbr metadata (%s)' % os.path.relpath(egg, path))
    return (None, None,
            'no PKG-INFO, no release branch or version tag, no pbr metadata')


def detect_release(target, path):
    """The :class:`Release` whose series fits the tree at ``path``.

    :returns: ``(release, how)``, ``how`` saying what was read.
    :raises: :class:`UnknownRelease` naming the known releases.
    """
    kind, value, how = detect(path, target.pypi_name)
    if kind is None:
        raise exceptions.UnknownRelease(
            target.name, 'the tree at %s (%s)' % (path, how), target.known())
    if kind == 'development':
        raise exceptions.UnknownRelease(
            target.name, 'a development tree past %s (%s)' % (value, how),
            target.known())
    if kind == 'release':
        if value not in target.releases:
            raise exceptions.UnknownRelease(
                target.name, 'release %s (%s)' % (value, how),
                target.known())
        release = target.releases[value]
    else:
        release = target.release_for_version(value)
        how = '%s %s from %s' % (target.pypi_name, value, how)
    LOG.info('%s: %s -> release %s', path, how, release.name)
    return release, how


def release_of_tree(target, path):
    """The :class:`Release` whose series fits the tree at ``path``."""
    return detect_release(target, path)[0]
