import io
import os
import socket
import tarfile

from patchseries import exceptions
from patchseries import sdist
from tests import base


class TestFetchSdist(base.TestCase):

    def setUp(self):
        super().setUp()
        self.index = self.useFixture(
            base.SimpleIndexFixture(os.path.join(self.tmp, 'index')))
        self.cache = os.path.join(self.tmp, 'cache')
        path, self.sha = base.make_sdist(self.tmp, 'toy', '1.0',
                                         base.TOY_FILES)
        self.index.publish(path, 'toy', self.sha)

    def test_fetch_downloads_and_checks_hash(self):
        path = sdist.fetch_sdist('toy', '1.0', self.sha, self.cache)
        self.assertEqual(os.path.join(self.cache, 'toy-1.0.tar.gz'), path)
        self.assertEqual(self.sha, sdist.file_sha256(path))
        self.assertEqual(['toy-1.0.tar.gz'], os.listdir(self.cache))

    def test_fetch_uses_cache_without_index(self):
        sdist.fetch_sdist('toy', '1.0', self.sha, self.cache)
        self.index.stop()
        path = sdist.fetch_sdist('toy', '1.0', self.sha, self.cache)
        self.assertEqual(self.sha, sdist.file_sha256(path))

    def test_fetch_replaces_corrupt_cache_entry(self):
        os.makedirs(self.cache)
        with open(os.path.join(self.cache, 'toy-1.0.tar.gz'), 'wb') as f:
            f.write(b'truncated')
        path = sdist.fetch_sdist('toy', '1.0', self.sha, self.cache)
        self.assertEqual(self.sha, sdist.file_sha256(path))

    def test_fetch_rejects_pin_mismatch_and_caches_nothing(self):
        wrong = '0' * 64
        exc = self.assertRaises(exceptions.DownloadError,
                                sdist.fetch_sdist, 'toy', '1.0', wrong,
                                self.cache)
        self.assertIn('toy-1.0.tar.gz', str(exc))
        self.assertIn(wrong, str(exc))
        self.assertEqual([], os.listdir(self.cache))

    def test_fetch_unknown_project_names_it(self):
        exc = self.assertRaises(exceptions.DownloadError,
                                sdist.fetch_sdist, 'nosuch', '1.0',
                                self.sha, self.cache)
        self.assertIn('nosuch', str(exc))
        self.assertIn('HTTP 404', str(exc))

    def test_fetch_unknown_version_lists_versions(self):
        exc = self.assertRaises(exceptions.DownloadError,
                                sdist.fetch_sdist, 'toy', '9.9', self.sha,
                                self.cache)
        self.assertIn('no sdist of toy 9.9', str(exc))
        self.assertIn('versions there: 1.0', str(exc))

    def test_fetch_unreachable_index(self):
        sock = socket.socket()
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
        sock.close()
        self.useFixture(base.fixtures.EnvironmentVariable(
            'PATCHSERIES_INDEX_URL', 'http://127.0.0.1:%d/simple' % port))
        exc = self.assertRaises(exceptions.DownloadError,
                                sdist.fetch_sdist, 'toy', '1.0', self.sha,
                                self.cache)
        self.assertIn('unreachable', str(exc))
        self.assertIn(str(port), str(exc))
        self.assertEqual([], os.listdir(self.cache))


class TestFetchHashFromIndex(base.TestCase):

    def test_index_hash_disagreeing_with_pin_is_refused(self):
        index = self.useFixture(
            base.SimpleIndexFixture(os.path.join(self.tmp, 'index')))
        path, sha = base.make_sdist(self.tmp, 'toy', '1.0', base.TOY_FILES)
        index.publish(path, 'toy', 'f' * 64)
        exc = self.assertRaises(exceptions.DownloadError,
                                sdist.fetch_sdist, 'toy', '1.0', sha,
                                os.path.join(self.tmp, 'cache'))
        self.assertIn('the index lists sha256 ' + 'f' * 64, str(exc))


class TestUnpack(base.TestCase):

    def test_unpack_drops_top_folder(self):
        path, _ = base.make_sdist(self.tmp, 'toy', '1.0', base.TOY_FILES)
        dest = os.path.join(self.tmp, 'out')
        sdist.unpack_sdist(path, dest)
        self.assertEqual(['PKG-INFO', 'toy'], sorted(os.listdir(dest)))
        with open(os.path.join(dest, 'toy', 'core.py')) as f:
            self.assertIn('return 41', f.read())

    def test_unpack_refuses_member_outside_tree(self):
        path = os.path.join(self.tmp, 'evil-1.0.tar.gz')
        with tarfile.open(path, 'w:gz') as tar:
            info = tarfile.TarInfo('evil-1.0/../../escaped')
            info.size = 1
            tar.addfile(info, io.BytesIO(b'x'))
        dest = os.path.join(self.tmp, 'out')
        self.assertRaises(exceptions.DownloadError, sdist.unpack_sdist,
                          path, dest)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, 'escaped')))
