"""Test environments for upstream trees.

One virtualenv per release and set of pins, built with uv and kept in the
cache under a key made of everything that decides its contents (the
interpreter, the release, our constraints, upstream's requirement files,
extras). The tree itself is installed editable and re-installed without
dependencies after every change of the tree, which costs seconds, so a
cached environment serves the unpatched and the patched run alike.
"""

import hashlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys

from patchseries import exceptions

LOG = logging.getLogger(__name__)

# Bump when the way environments are built changes, to retire old ones.
LAYOUT = 3

# NOTE: some glance functional tests fetch from "localhost." (the fully
# qualified form, with its trailing dot). A resolver that knows
# "localhost" only from /etc/hosts, as on our CI machines, fails on it,
# and six tests fail for that reason alone. Where the probe below shows
# the failure, the test environment gets this shim, which retries the
# lookup without the trailing dot; nothing else is resolved differently,
# and the verify report says the shim is in place.
RESOLVER_SHIM = '''\
"""Installed by patchseries: resolve "localhost." like "localhost"."""
import socket

_getaddrinfo = socket.getaddrinfo


def getaddrinfo(host, *args, **kwargs):
    try:
        return _getaddrinfo(host, *args, **kwargs)
    except socket.gaierror:
        if host in ('localhost.', b'localhost.'):
            return _getaddrinfo(host[:-1], *args, **kwargs)
        raise


socket.getaddrinfo = getaddrinfo
'''
RESOLVER_SHIM_MODULE = '_patchseries_localhost'
RESOLVER_SHIM_NOTE = ('this machine cannot resolve "localhost."; the test '
                      'environment resolves it as "localhost" (a shim from '
                      'patchseries.venv; the tests themselves are unchanged)')

# Written into an environment once it is complete, and once its
# libraries' bytecode is compiled. pip compiles it at install, so tox's
# environments upstream have it; uv does not unless asked.
COMPLETE_MARKER = '.patchseries-complete'
BYTECODE_MARKER = '.patchseries-bytecode'

# pbr would otherwise rewrite AUTHORS and ChangeLog from our one-commit
# history, and ask git for a version our imported trees have no tag for.
PBR_ENV = {'SKIP_GENERATE_AUTHORS': '1', 'SKIP_WRITE_GIT_CHANGELOG': '1'}


def uv_binary():
    """The uv that came with our own requirements."""
    try:
        import uv
        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which('uv')
        if not found:
            raise exceptions.VenvError(
                'uv is not installed; "pip install uv" (it is in '
                'requirements.txt)')
        return found


def resolver_needs_shim():
    """Whether ``localhost.`` fails here while ``localhost`` resolves."""
    try:
        socket.getaddrinfo('localhost.', 80)
        return False
    except socket.gaierror:
        try:
            socket.getaddrinfo('localhost', 80)
        except socket.gaierror:
            return False
        return True


def missing_commands(required):
    """``{command: debian package}`` entries whose command is not on PATH.

    >>> missing_commands({'sh': 'dash', 'no-such-cmd-x': 'pkg'})
    {'no-such-cmd-x': 'pkg'}
    """
    return dict((cmd, pkg) for cmd, pkg in sorted(required.items())
                if not shutil.which(cmd))


def install_system_packages(packages):
    """Install Debian packages with apt-get (as root only).

    :raises VenvError: when not root or when apt-get fails, naming the
        command to run by hand.
    """
    packages = sorted(set(packages))
    command = 'apt-get install -y %s' % ' '.join(packages)
    if os.geteuid() != 0 or not shutil.which('apt-get'):
        raise exceptions.VenvError(
            'the tests need the Debian package(s) %s; run: %s'
            % (', '.join(packages), command))
    LOG.info('installing Debian package(s) %s with apt-get',
             ', '.join(packages))
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    for argv in (['apt-get', 'update', '-qq'],
                 ['apt-get', 'install', '-y', '-qq'] + packages):
        if subprocess.run(argv, env=env, stdin=subprocess.DEVNULL).returncode:
            raise exceptions.VenvError(
                '%s failed; run it by hand: %s' % (' '.join(argv), command))


def _read(path):
    if path and os.path.isfile(path):
        with open(path, 'rb') as f:
            return f.read()
    return b''


class TestEnv(object):
    """The virtualenv that runs one release's upstream tests.

    :param release: the :class:`patchseries.target.Release`.
    :param tree: the path of the tree to install (editable).
    :param cache_dir: our cache; environments live in ``venvs/`` there.
    """

    def __init__(self, release, tree, cache_dir):
        self.release = release
        self.tree = os.path.abspath(tree)
        self.cache_dir = cache_dir
        self.notes = []

    def key(self):
        """A digest of everything that decides what gets installed."""
        target = self.release.target
        facts = {
            'layout': LAYOUT,
            'python': sys.version,
            'version': self.release.version,
            'extras': list(target.extras),
            'extra_packages': list(self.release.extra_packages),
        }
        digest = hashlib.sha256(
            json.dumps(facts, sort_keys=True).encode('utf-8'))
        for name in ('requirements.txt', 'test-requirements.txt'):
            digest.update(_read(os.path.join(self.tree, name)))
        digest.update(_read(self.release.constraints))
        return digest.hexdigest()[:12]

    @property
    def path(self):
        return os.path.join(self.cache_dir, 'venvs',
                            '%s-%s' % (self.release.label, self.key()))

    @property
    def bin_dir(self):
        return os.path.join(self.path, 'bin')

    @property
    def python(self):
        return os.path.join(self.bin_dir, 'python')

    def _uv(self, *args):
        env = dict(os.environ, **PBR_ENV)
        env['PBR_VERSION'] = self.release.version
        argv = [uv_binary()] + list(args)
        LOG.debug('$ %s', ' '.join(argv))
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL)
        if proc.returncode:
            raise exceptions.VenvError(
                '%s: uv %s failed with exit %d (see its output above)'
                % (self.release.label, args[0] if args else '',
                   proc.returncode))

    def ensure(self, fresh=False):
        """Build the environment unless a complete one is cached.

        :param fresh: throw a cached environment away and build anew.
        :returns: True when it was (re)built.
        """
        marker = os.path.join(self.path, COMPLETE_MARKER)
        if fresh and os.path.exists(self.path):
            LOG.info('%s: --fresh, removing %s', self.release.label,
                     self.path)
            shutil.rmtree(self.path)
        if os.path.exists(marker):
            LOG.info('%s: reusing the test environment %s',
                     self.release.label, self.path)
            self._compile_bytecode()
            self._install_shim()
            return False
        if os.path.exists(self.path):
            shutil.rmtree(self.path)
        LOG.info('%s: building the test environment %s (uv)',
                 self.release.label, self.path)
        self._uv('venv', '--quiet', '--python', sys.executable, self.path)
        target = self.release.target
        spec = self.tree
        if target.extras:
            spec += '[%s]' % ','.join(target.extras)
        args = ['pip', 'install', '--python', self.python,
                '--compile-bytecode', '-e', spec,
                '-r', os.path.join(self.tree, 'test-requirements.txt')]
        args += list(self.release.extra_packages)
        if self.release.constraints:
            args += ['-c', self.release.constraints]
        self._uv(*args)
        self._mark(BYTECODE_MARKER)
        self._install_shim()
        self._mark(COMPLETE_MARKER)
        return True

    def _mark(self, name):
        with open(os.path.join(self.path, name), 'w') as f:
            f.write('%s\n' % self.release.label)

    def _compile_bytecode(self):
        """Compile an environment built before we compiled at install.

        Once per environment; the tests' own PYTHONDONTWRITEBYTECODE
        would otherwise have every test process compile its libraries
        from source again.
        """
        if os.path.exists(os.path.join(self.path, BYTECODE_MARKER)):
            return
        LOG.info('%s: compiling the bytecode of %s (once)',
                 self.release.label, self.path)
        # NOTE: as with pip, a file that does not compile (a template, a
        # module for another Python) is left to be compiled, or fail, at
        # import; compileall's exit status only says some did not.
        for lib in sorted(set(self._paths('purelib', 'platlib'))):
            subprocess.run([self.python, '-m', 'compileall', '-q', '-j0',
                            lib], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL)
        self._mark(BYTECODE_MARKER)

    def _paths(self, *names):
        out = subprocess.run(
            [self.python, '-c',
             'import sys, sysconfig; paths = sysconfig.get_paths(); '
             'print("\\n".join(paths[n] for n in sys.argv[1:]))'] +
            list(names), stdout=subprocess.PIPE, text=True,
            check=True).stdout
        return out.splitlines()

    def install_tree(self):
        """Re-install the tree, without its dependencies, after a change."""
        self._uv('pip', 'install', '--quiet', '--python', self.python,
                 '--no-deps', '-e', self.tree)

    def _install_shim(self):
        if not (self.release.target.resolve_localhost_fqdn and
                resolver_needs_shim()):
            return
        purelib, = self._paths('purelib')
        with open(os.path.join(purelib, RESOLVER_SHIM_MODULE + '.py'),
                  'w') as f:
            f.write(RESOLVER_SHIM)
        with open(os.path.join(purelib, RESOLVER_SHIM_MODULE + '.pth'),
                  'w') as f:
            f.write('import %s\n' % RESOLVER_SHIM_MODULE)
        self.notes.append(RESOLVER_SHIM_NOTE)
