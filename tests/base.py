"""Test bases and fixtures shared by our own tests.

Nothing here touches the network: sdists are small tarballs the tests
make themselves and the package index is a loopback HTTP server on a
free port, stopped by the test that started it.
"""

import functools
import hashlib
import http.server
import io
import os
import tarfile
import threading
import types

import fixtures
from oslotest import base

from patchseries import target as target_mod


class TestCase(base.BaseTestCase):
    """A test with a private $HOME and a scratch folder.

    The private home keeps the developer's git configuration out of
    reach, as reno's test base does.
    """

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.TempHomeDir())
        self.tmp = self.useFixture(fixtures.TempDir()).path
        # NOTE: our code must never depend on these; a stray PIP_INDEX_URL
        # from the developer's shell would point tests at a real index.
        for name in ('PATCHSERIES_INDEX_URL', 'PIP_INDEX_URL'):
            self.useFixture(fixtures.EnvironmentVariable(name))


def make_sdist(dest_dir, name, version, files):
    """Write ``<name>-<version>.tar.gz`` holding ``files``.

    :param files: ``{relative path: text}``; a PKG-INFO is added.
    :returns: ``(path, sha256)``.
    """
    top = '%s-%s' % (name, version)
    members = dict(files)
    members.setdefault('PKG-INFO', 'Metadata-Version: 2.1\nName: %s\n'
                                   'Version: %s\n' % (name, version))
    path = os.path.join(dest_dir, '%s.tar.gz' % top)
    with tarfile.open(path, 'w:gz') as tar:
        for rel, text in sorted(members.items()):
            data = text.encode('utf-8')
            info = tarfile.TarInfo('%s/%s' % (top, rel))
            info.size = len(data)
            info.mtime = 1700000000
            tar.addfile(info, io.BytesIO(data))
    with open(path, 'rb') as f:
        return path, hashlib.sha256(f.read()).hexdigest()


TOY_FILES = {
    'toy/__init__.py': '',
    'toy/core.py': 'def answer():\n    return 41\n',
    'toy/other.py': 'NAME = "toy"\n',
}


def make_target(package_dir, releases, name='toy', pypi_name='toy'):
    """A :class:`patchseries.target.Target` for a toy project.

    :param releases: ``{release name: (version, sha256)}``.
    """
    data = types.SimpleNamespace(
        PYPI_NAME=pypi_name,
        RELEASES=dict(
            (rel, {'version': ver, 'sha256': sha, 'series': 'series-%s' % rel})
            for rel, (ver, sha) in releases.items()))
    os.makedirs(package_dir, exist_ok=True)
    return target_mod.Target(name, data, package_dir)


class _IndexHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class SimpleIndexFixture(fixtures.Fixture):
    """A PEP 503 index of the sdists in a folder, on 127.0.0.1.

    Sets ``PATCHSERIES_INDEX_URL`` to it for the duration of the test.
    """

    def __init__(self, root):
        super().__init__()
        self.root = root

    def publish(self, sdist_path, project, sha256=None):
        page_dir = os.path.join(self.root, 'simple', project)
        os.makedirs(page_dir, exist_ok=True)
        filename = os.path.basename(sdist_path)
        os.replace(sdist_path, os.path.join(page_dir, filename))
        href = filename
        if sha256:
            href += '#sha256=%s' % sha256
        index = os.path.join(page_dir, 'index.html')
        links = ''
        if os.path.exists(index):
            with open(index) as f:
                links = f.read()
        with open(index, 'w') as f:
            f.write(links + '<a href="%s">%s</a><br/>\n' % (href, filename))

    def _setUp(self):
        os.makedirs(os.path.join(self.root, 'simple'), exist_ok=True)
        handler = functools.partial(_IndexHandler, directory=self.root)
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      handler)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()
        self.addCleanup(self.stop)
        self.url = 'http://127.0.0.1:%d/simple' % self.server.server_port
        self.useFixture(fixtures.EnvironmentVariable(
            'PATCHSERIES_INDEX_URL', self.url))

    def stop(self):
        """Stop serving (idempotent); later fetches find nothing."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


def commit_change(repo, path, text, subject, change_id=None):
    """Commit ``text`` into ``path`` of ``repo`` with a gerrit footer."""
    with open(os.path.join(repo.path, path), 'w') as f:
        f.write(text)
    repo.run('add', path)
    message = subject + '\n\nWhy this change is needed.\n'
    if change_id:
        message += '\nChange-Id: %s\n' % change_id
    repo.run('commit', '--quiet', '-m', message,
             env={'GIT_AUTHOR_DATE': '2026-02-03T10:00:00+0000',
                  'GIT_COMMITTER_DATE': '2026-02-03T10:00:00+0000'})
