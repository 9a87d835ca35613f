"""``openstack image affinity`` against a real Glance 33.

The Glance of verify's environment (patched or not: the tool is for
clouds that run the unpatched release) serves on 127.0.0.1 with sqlite
and three file stores. A few template images are made through the API;
the bench's :class:`~patchseries.bench.p2.GlanceDB` then multiplies them
straight in the database (with their properties, and their data files
hard-linked), a few hundred images of three projects in seconds.
"""

import glob
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from patchseries.bench import p2 as bench_p2
from patchseries import main
from patchseries import realglance
from patchseries import scenarios
from tests import base
from tests.unit import test_affinity_cli as cli

VENVS = os.path.join(main.default_cache_dir(), 'venvs', 'glance-33.0.0-*',
                     'bin')
PROJECTS = ('p1', 'p2', 'p3')
# Copies per template, per project: (misplaced, in place).
MISPLACED_A, MISPLACED_B, IN_PLACE = 8, 3, 40


class ImageDB(bench_p2.GlanceDB):
    TABLES = bench_p2.GlanceDB.TABLES + (('image_properties', 'image_id'),)

    def clone(self, template_id, count, root):
        """``count`` copies of an image, with their data files."""
        ids = self.copy_image(template_id, count)
        db = self._connect()
        try:
            rows = db.execute(
                'SELECT image_id, value FROM image_locations WHERE '
                'deleted = 0 AND image_id IN (%s)' % ','.join('?' * len(ids)),
                ids).fetchall()
        finally:
            db.close()
        for image_id, url in rows:
            path = url[len('file://'):]
            os.link(path.replace(image_id, template_id), path)
        return ids

    def locations(self):
        db = self._connect()
        try:
            return sorted(db.execute(
                'SELECT image_id, value FROM image_locations WHERE '
                'deleted = 0').fetchall())
        finally:
            db.close()


class Glance(realglance.RealGlance):
    """The real Glance, from another source tree when asked.

    ``AFFINITY_GLANCE_SOURCE`` names a Glance source tree (e.g. the
    upstream release unpacked) that goes before the environment's own
    Glance on the server's path, to run these tests against it.
    """

    def _env(self, conf_dir):
        env = super()._env(conf_dir)
        source = os.environ.get('AFFINITY_GLANCE_SOURCE')
        if source:
            env['PYTHONPATH'] = os.pathsep.join([source, env['PYTHONPATH']])
        return env


class SingleStoreGlance(Glance):
    """A Glance without ``enabled_backends``: one legacy file store."""

    def _write_config(self):
        conf_dir = super()._write_config()
        path = os.path.join(conf_dir, 'glance-api.conf')
        with open(path) as f:
            text = f.read()
        text = text.replace('enabled_backends = ', '# enabled_backends = ')
        text = text.replace(
            'default_backend = %s' % self.stores[0],
            'stores = file\ndefault_store = file\n'
            'filesystem_store_datadir = %s' % self.store_dir(self.stores[0]))
        with open(path, 'w') as f:
            f.write(text)
        return conf_dir


def _glance_bin():
    for path in sorted(glob.glob(VENVS)):
        if os.path.exists(os.path.join(path, 'gunicorn')):
            return path
    return None


class TestAffinityRealGlance(base.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        bin_dir = _glance_bin()
        if bin_dir is None:
            raise unittest.SkipTest(
                'no Glance environment under %s: run `tox -e verify` (or '
                '`patchseries verify glance`) first' % VENVS)
        cls.root = tempfile.mkdtemp(prefix='affinity-real-')
        cls.bin_dir = bin_dir
        cls.server = Glance(bin_dir, cls.root)
        try:
            cls.server.start()
            cls._populate()
        except Exception:
            cls.server.stop()
            shutil.rmtree(cls.root, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    @classmethod
    def _populate(cls):
        glance = scenarios.Glance('real', cls.server.url)
        cls.glance = glance

        def image(project, stores, **props):
            roles = ('admin',) if project == 'admin' else ('member',)
            client = glance.client(project, roles=roles)
            image_id = client.images.create(
                disk_format='raw', container_format='bare', **props)['id']
            client.images.upload(image_id, io.BytesIO(b'x' * 4096),
                                 backend=stores[0])
            if stores[1:]:
                glance.client('admin', roles=('admin',)).images.image_import(
                    image_id, method='copy-image', stores=list(stores[1:]))
                glance.where(image_id)
            return image_id

        pub = dict(visibility='public')
        cls.base_a = image('admin', ('store2',), name='base-a', **pub)
        cls.base_b = image('admin', ('store2', 'store3'), name='base-b',
                           **pub)
        cls.base_c = image('admin', ('store1',), name='base-c', **pub)
        gone = image('admin', ('store3',), name='gone', **pub)
        cls.misplaced = {}
        db = ImageDB(os.path.join(cls.root, 'glance.sqlite'))
        for project in PROJECTS:
            for base_id, stores, kind, count, missing in (
                    (cls.base_a, ('store1',), 'snapshot', MISPLACED_A,
                     ('store2',)),
                    (cls.base_b, ('store2',), 'backup', MISPLACED_B,
                     ('store3',)),
                    (cls.base_c, ('store1',), 'snapshot', IN_PLACE, ()),
                    (cls.base_a, ('store2',), 'snapshot', IN_PLACE, ())):
                template = image(project, stores, name='%s-%s' % (
                    project, kind), image_type=kind,
                    base_image_ref=base_id)
                ids = [template] + db.clone(template, count - 1, cls.root)
                if missing:
                    cls.misplaced.update((i, missing) for i in ids)
        # A Cinder upload that recorded its source, and a snapshot whose
        # base was deleted since.
        volume = image('p2', ('store1',), name='p2-volume',
                       image_id=cls.base_b)
        cls.misplaced[volume] = ('store2', 'store3')
        cls.orphan = image('p1', ('store1',), name='orphan',
                           image_type='snapshot', base_image_ref=gone)
        glance.client('admin', roles=('admin',)).images.delete(gone)
        cls.db = db
        cls.image = staticmethod(image)
        cls.total = db.count()

    def setUp(self):
        super().setUp()
        self.clouds = cli.write_clouds_yaml(self.tmp, self.server.url)
        self.state = os.path.join(self.tmp, 'state.jsonl')

    def audit(self, *args, clouds=None):
        rc, out, err = cli.openstack(clouds or self.clouds, 'image',
                                     'affinity', 'audit', '-f', 'json',
                                     *args)
        self.assertEqual(0, rc, err)
        return json.loads(out)

    def repair(self, *args):
        scope = () if '--project' in args else ('--all-projects',)
        rc, out, err = cli.openstack(
            self.clouds, 'image', 'affinity', 'repair', *scope,
            '--state', self.state, '--poll', '0.2', '-f', 'json', *args,
            timeout=600)
        self.assertEqual(0, rc, err)
        return json.loads(out)

    def misplaced_now(self):
        rows = self.audit('--all-projects')
        orphan = [r for r in rows if r['Image'] == self.orphan]
        self.assertEqual(1, len(orphan), rows)
        self.assertIn('not found or not visible', orphan[0]['Reason'])
        return dict((r['Image'], tuple(
            s for s in r['Stores Wanted'].split(',')
            if s not in r['Stores Now'].split(',')))
            for r in rows if r['Image'] != self.orphan)

    def test_1_audit_finds_exactly_the_misplaced(self):
        self.assertGreaterEqual(self.total, 250)
        self.assertEqual(self.misplaced, self.misplaced_now())
        summary = self.audit('--all-projects', '--summary')
        self.assertEqual(
            [['store1', 'store2', 3 * MISPLACED_A + 1],
             ['store1', 'store3', 1], ['store2', 'store3', 3 * MISPLACED_B]],
            [[r['From Stores'], r['To Store'], r['Images']]
             for r in summary])
        backups = self.audit('--all-projects', '--image-type', 'backup')
        self.assertEqual(3 * MISPLACED_B, len(backups))
        os.makedirs(os.path.join(self.tmp, 'm'))
        member = cli.write_clouds_yaml(
            os.path.join(self.tmp, 'm'), self.server.url, project='p2',
            roles=('member', 'reader'))
        own = self.audit('--project', 'p2', clouds=member)
        self.assertEqual(MISPLACED_A + MISPLACED_B + 1, len(own))

    def test_2_dry_run_and_bad_input_change_nothing(self):
        before = self.db.locations()
        rows = self.repair('--dry-run')
        self.assertEqual(len(self.misplaced), len(rows))
        self.assertEqual({'would copy'}, set(r['Result'] for r in rows))
        self.assertFalse(os.path.exists(self.state))
        rc, out, err = cli.openstack(self.clouds, 'image', 'affinity',
                                     'repair', '--all-projects', '--store',
                                     'nope', '--state', self.state)
        self.assertEqual(1, rc)
        self.assertIn("unknown store 'nope'", err)
        member_dir = os.path.join(self.tmp, 'm')
        os.makedirs(member_dir)
        member = cli.write_clouds_yaml(
            member_dir, self.server.url, project='p1',
            roles=('member', 'reader'))
        rc, out, err = cli.openstack(member, 'image', 'affinity', 'repair',
                                     '--project', 'p1', '--state',
                                     self.state)
        self.assertEqual(1, rc, out)
        self.assertIn('Glance refused copy-image', err)
        rc, out, err = cli.openstack(self.clouds, 'image', 'affinity',
                                     'audit', cloud='nope')
        self.assertNotEqual(0, rc)
        self.assertIn('nope', err)
        self.assertEqual(before, self.db.locations())
        self.assertEqual(self.misplaced, self.misplaced_now())

    def test_3_interrupted_repair_resumes_and_ends_clean(self):
        first = self.repair('--limit', '6', '--concurrency', '1')
        copied = [r['Image'] for r in first if r['Result'] == 'copied']
        self.assertEqual(6, len(copied))
        # Now kill a run in the middle of its copies.
        env = dict(os.environ, OS_CLIENT_CONFIG_FILE=self.clouds)
        proc = subprocess.Popen(
            [sys.executable, '-m', 'openstackclient.shell', '--os-cloud',
             'test', 'image', 'affinity', 'repair', '--all-projects',
             '--state', self.state, '--poll', '0.2', '--concurrency', '1'],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        try:
            while time.monotonic() < deadline:
                if self._events('done') >= 10 or proc.poll() is not None:
                    break
                time.sleep(0.2)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        done_before = self._events('done')
        self.assertGreaterEqual(done_before, 10)
        self.assertLess(done_before, len(self.misplaced),
                        'the run ended before it could be interrupted')
        # NOTE: one copy at a time: Glance on sqlite fails a copy task
        # with "database is locked" when two tasks write at once.
        last = self.repair('--concurrency', '1')
        self.assertEqual(set(), set(r['Result'] for r in last) -
                         {'copied', 'skipped'})
        self.assertEqual({}, self.misplaced_now())
        # Never two copies of one image asked for.
        started = {}
        with open(self.state) as f:
            for line in f:
                event = json.loads(line)
                if event.get('event') == 'started':
                    started[event['image']] = started.get(
                        event['image'], 0) + 1
        self.assertEqual(set(self.misplaced), set(started))
        self.assertEqual({1}, set(started.values()))

    def _events(self, kind):
        try:
            with open(self.state) as f:
                return sum(1 for line in f if '"event": "%s"' % kind in line)
        except FileNotFoundError:
            return 0

    def test_4_move_removes_the_old_location_after_the_copy(self):
        snap = self.image('p1', ('store1',), name='p1-move',
                          image_type='snapshot', base_image_ref=self.base_a)
        path = os.path.join(self.server.store_dir('store1'), snap)
        self.assertTrue(os.path.exists(path))
        rows = self.repair('--project', 'p1', '--move', '--concurrency',
                           '1')
        self.assertEqual([[snap, 'moved', 'store2']],
                         [[r['Image'], r['Result'], r['Stores']]
                          for r in rows])
        self.assertIn('removed from store1', rows[0]['Why'])
        where = self.glance.where(snap)
        self.assertEqual(('active', 'store2'),
                         (where['status'], where['stores']))
        self.assertFalse(os.path.exists(path))

    def test_5_a_glance_without_stores_is_refused(self):
        root = tempfile.mkdtemp(prefix='affinity-single-')
        self.addCleanup(shutil.rmtree, root, True)
        server = SingleStoreGlance(self.bin_dir, root)
        server.start()
        self.addCleanup(server.stop)
        clouds = cli.write_clouds_yaml(os.path.join(root, 'etc'),
                                       server.url)
        state = ('--state', os.path.join(root, 'state'))
        for args in (('audit',), ('repair',) + state):
            rc, out, err = cli.openstack(clouds, 'image', 'affinity', *args,
                                         '--all-projects')
            self.assertEqual(1, rc, out)
            self.assertIn('this Glance is not multi-store', err)
        self.assertFalse(os.path.exists(os.path.join(root, 'state')))
