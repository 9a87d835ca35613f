"""The only module that runs git.

Every call is isolated from the caller's git configuration: the global
and system files are not read, so a developer's ``format.signature`` or
``am.threeWay`` cannot change what we produce, and nothing is ever
written to them. ``safe.directory`` is set on the command line for the
one repository a call works on, so trees owned by another user (a
root-run CI on a checkout it did not create) still work.
"""

import logging
import os
import subprocess

from patchseries import exceptions

LOG = logging.getLogger(__name__)

# The identity that commits base trees and applies series.
IDENTITY = ('Store Affinity Maintainers', 'maintainers@example.invalid')

# A fixed date makes the base commit of a tree reproducible.
BASE_DATE = '2000-01-01T00:00:00+0000'


def _environ(extra=None):
    env = dict(os.environ)
    for name in list(env):
        # Variables like GIT_DIR or GIT_INDEX_FILE from a calling hook would
        # point our commands at the wrong repository.
        if name.startswith('GIT_'):
            del env[name]
    env.update({
        'GIT_CONFIG_GLOBAL': os.devnull,
        'GIT_CONFIG_NOSYSTEM': '1',
        'GIT_TERMINAL_PROMPT': '0',
        'LC_ALL': 'C',
        'LANGUAGE': 'C',
    })
    env.update(extra or {})
    return env


class Repo(object):
    """One git work tree.

    :param path: the top of the work tree (it may not exist yet, for
        :meth:`init`).
    """

    def __init__(self, path):
        self.path = os.path.abspath(path)

    def _argv(self, args):
        return ['git', '-C', self.path,
                '-c', 'safe.directory=%s' % self.path,
                '-c', 'user.name=%s' % IDENTITY[0],
                '-c', 'user.email=%s' % IDENTITY[1],
                '-c', 'core.autocrlf=false',
                '-c', 'commit.gpgsign=false',
                '-c', 'init.defaultBranch=main'] + list(args)

    def run(self, *args, check=True, env=None):
        """Run ``git ARGS`` in the tree.

        :param check: raise :class:`GitError` on a non-zero exit.
        :param env: extra environment variables.
        :returns: a :class:`subprocess.CompletedProcess` with text output,
            stderr folded into stdout.
        """
        LOG.debug('$ git %s', ' '.join(args))
        proc = subprocess.run(
            self._argv(args), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=_environ(env), text=True)
        if check and proc.returncode:
            raise exceptions.GitError(args, proc.returncode, proc.stdout)
        return proc

    def out(self, *args, **kwargs):
        """Run git and return its stripped output."""
        return self.run(*args, **kwargs).stdout.strip()

    def is_repo(self):
        if not os.path.isdir(self.path):
            return False
        proc = self.run('rev-parse', '--show-toplevel', check=False)
        return (proc.returncode == 0 and
                os.path.realpath(proc.stdout.strip()) ==
                os.path.realpath(self.path))

    def git_dir(self):
        return os.path.join(
            self.path, self.out('rev-parse', '--git-dir'))

    def head(self):
        return self.out('rev-parse', 'HEAD')

    def branch(self):
        """The current branch name, or None when HEAD is detached."""
        proc = self.run('symbolic-ref', '--quiet', '--short', 'HEAD',
                        check=False)
        return proc.stdout.strip() or None

    def dirty_files(self):
        """Tracked files with changes, staged or not."""
        # NOTE: not self.out(): stripping would eat the leading blank of
        # the first " M path" status line.
        out = self.run('status', '--porcelain',
                       '--untracked-files=no').stdout
        return [line[3:] for line in out.splitlines() if line.strip()]

    def unmerged_files(self):
        out = self.out('diff', '--name-only', '--diff-filter=U')
        return [line for line in out.splitlines() if line]

    def commits(self, base, tip='HEAD'):
        """Commit ids from ``base`` (excluded) to ``tip``, oldest first."""
        out = self.out('rev-list', '--reverse', '%s..%s' % (base, tip))
        return out.split()
