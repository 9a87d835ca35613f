"""The fake Glance, driven by the real python-glanceclient over HTTP."""

import hashlib
import io
import os
import time

import ddt
import fixtures
from glanceclient import client as glance_client
from glanceclient import exc as glance_exc

from patchseries.fakeglance import fixture
from tests import base

BASE_REF = 'X-OpenStack-Base-Image-Ref'
DATA = b'0123456789abcdef' * 8192  # 128 KiB: several chunks


def upload(fake, image_id, data=DATA, project='projA', headers=None,
           backend=None):
    """Upload as Nova does: a client built for this one call."""
    client = glance_client.Client(
        '2', session=fake.session(project), endpoint_override=fake.url,
        additional_headers=headers or {})
    client.images.upload(image_id, io.BytesIO(data), backend=backend)


def _appears(path, timeout=10.0):
    """Whether ``path`` exists within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class FakeGlanceTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.fake = self.useFixture(self.make_fixture())
        self.client = self.fake.client('projA')
        # The base image lives in store2, then store3.
        self.base = self.new_image('base', visibility='private')
        upload(self.fake, self.base['id'], backend='store2')
        self.fake.images.copy_to(self.base['id'], 'store3')

    def make_fixture(self):
        return fixture.FakeGlanceFixture()

    def new_image(self, name='snap', project='projA', **props):
        client = self.fake.client(project)
        return client.images.create(name=name, disk_format='raw',
                                    container_format='bare', **props)

    def stores_of(self, image_id):
        self.assertTrue(self.fake.app.wait_for_copies(30),
                        'copies still running after 30s')
        return self.fake.client().images.get(image_id).get('stores')


@ddt.ddt
class TestUploadStoreChoice(FakeGlanceTestCase):

    def test_no_header_goes_to_default_store(self):
        snap = self.new_image()
        upload(self.fake, snap['id'])
        self.assertEqual('store1', self.stores_of(snap['id']))

    def test_store_header_places_upload(self):
        snap = self.new_image()
        upload(self.fake, snap['id'], backend='store3')
        self.assertEqual('store3', self.stores_of(snap['id']))

    def test_store_header_beats_base_ref(self):
        snap = self.new_image()
        upload(self.fake, snap['id'], headers={BASE_REF: self.base['id']},
               backend='store1')
        self.assertEqual('store1', self.stores_of(snap['id']))

    def test_base_ref_places_and_colocates(self):
        snap = self.new_image()
        upload(self.fake, snap['id'], headers={BASE_REF: self.base['id']})
        self.assertEqual('store2,store3', self.stores_of(snap['id']))
        image = self.fake.client().images.get(snap['id'])
        self.assertEqual('', image['os_glance_importing_to_stores'])
        self.assertEqual('', image['os_glance_failed_import'])
        for store_id in ('store2', 'store3'):
            path = self.fake.images.stores[store_id].file_for(snap['id'])
            with open(path, 'rb') as f:
                self.assertEqual(image['checksum'],
                                 hashlib.md5(f.read()).hexdigest())

    @ddt.data('not-a-uuid', 'a' * 4000, '00000000-0000-0000-0000-000000000000',
              '%s,%s' % ('1' * 36, '2' * 36), '../../etc/passwd')
    def test_unusable_base_ref_falls_back_to_default(self, ref):
        snap = self.new_image()
        upload(self.fake, snap['id'], headers={BASE_REF: ref})
        self.assertEqual('store1', self.stores_of(snap['id']))

    def test_foreign_private_base_is_like_a_missing_one(self):
        other = self.new_image('theirs', project='projB',
                               visibility='private')
        upload(self.fake, other['id'], project='projB', backend='store3')
        missing = '11111111-2222-3333-4444-555555555555'
        answers = []
        for ref in (other['id'], missing):
            snap = self.new_image()
            upload(self.fake, snap['id'], headers={BASE_REF: ref})
            put = self.fake.recorder.uploads()[-1]
            answers.append(self.stores_of(snap['id']))
            self.assertEqual(ref, put['headers']['x-openstack-base-image-ref'])
        self.assertEqual(['store1', 'store1'], answers)

    def test_public_base_of_another_project_is_used(self):
        other = self.new_image('public', project='projB', visibility='public')
        upload(self.fake, other['id'], project='projB', backend='store3')
        snap = self.new_image()
        upload(self.fake, snap['id'], headers={BASE_REF: other['id']})
        self.assertEqual('store3', self.stores_of(snap['id']))

    def test_queued_or_deleted_base_falls_back(self):
        queued = self.new_image('queued')
        deleted = self.new_image('deleted')
        upload(self.fake, deleted['id'], backend='store2')
        self.client.images.delete(deleted['id'])
        for ref in (queued['id'], deleted['id']):
            snap = self.new_image()
            upload(self.fake, snap['id'], headers={BASE_REF: ref})
            self.assertEqual('store1', self.stores_of(snap['id']))

    def test_base_only_in_read_only_store_falls_back(self):
        record = self.fake.images.create({'name': 'ro'}, 'projA')
        self.fake.images.write(record['id'], io.BytesIO(b'ro'), 'readonly')
        snap = self.new_image()
        upload(self.fake, snap['id'], headers={BASE_REF: record['id']})
        self.assertEqual('store1', self.stores_of(snap['id']))

    def test_read_only_store_is_skipped_for_the_next_writable(self):
        record = self.fake.images.create({'name': 'mixed'}, 'projA')
        self.fake.images.write(record['id'], io.BytesIO(b'm'), 'readonly')
        self.fake.images.copy_to(record['id'], 'store3')
        snap = self.new_image()
        upload(self.fake, snap['id'], headers={BASE_REF: record['id']})
        self.assertEqual('store3', self.stores_of(snap['id']))

    @ddt.data('nosuch', 'os_glance_staging_store', 'os_glance_tasks_store')
    def test_unknown_or_reserved_store_is_400(self, store_id):
        snap = self.new_image()
        exc = self.assertRaises(glance_exc.HTTPBadRequest, upload,
                                self.fake, snap['id'], backend=store_id)
        self.assertIn(store_id, str(exc))
        self.assertEqual('queued',
                         self.client.images.get(snap['id'])['status'])

    def test_failed_colocation_never_fails_the_upload(self):
        self.fake.app.copy_failures.add('store3')
        snap = self.new_image()
        upload(self.fake, snap['id'], headers={BASE_REF: self.base['id']})
        self.assertEqual('store2', self.stores_of(snap['id']))
        image = self.client.images.get(snap['id'])
        self.assertEqual('active', image['status'])
        self.assertEqual('store3', image['os_glance_failed_import'])
        self.assertEqual('', image['os_glance_importing_to_stores'])

    def files_of(self, image_id):
        """{store: bytes} of every file the image has in a store folder."""
        found = {}
        for store_id, store in self.fake.images.stores.items():
            for name in os.listdir(store.path):
                if name.startswith(image_id):
                    found[store_id] = os.path.getsize(
                        os.path.join(store.path, name))
        return found

    def slow_colocated_upload(self):
        self.fake.faults.arm('slow', kind='copy', count=1, delay=1.0)
        snap = self.new_image()
        upload(self.fake, snap['id'], headers={BASE_REF: self.base['id']})
        image = self.client.images.get(snap['id'])
        # The copy into store3 is observably in progress.
        self.assertEqual('store3', image['os_glance_importing_to_stores'])
        self.assertEqual('store2', image['stores'])
        return snap['id']

    def test_slow_copy_fault_pauses_the_copy(self):
        image_id = self.slow_colocated_upload()
        self.assertEqual('store2,store3', self.stores_of(image_id))

    def test_delete_during_copy_leaves_no_data(self):
        image_id = self.slow_colocated_upload()
        self.assertIn('store3', self.files_of(image_id))
        self.client.images.delete(image_id)
        self.assertTrue(self.fake.app.wait_for_copies(30))
        self.assertEqual({}, self.files_of(image_id))

    def test_update_during_copy_is_kept(self):
        image_id = self.slow_colocated_upload()
        self.client.images.update(image_id, purpose='kept', protected=True,
                                  tags=['kept'])
        self.assertEqual('store2,store3', self.stores_of(image_id))
        image = self.client.images.get(image_id)
        self.assertEqual(('kept', True, ['kept']),
                         (image['purpose'], image['protected'],
                          image['tags']))

    def test_denied_colocation_is_recorded(self):
        self.fake.app.set_policy({'colocate_image': '!'})
        snap = self.new_image()
        upload(self.fake, snap['id'], headers={BASE_REF: self.base['id']})
        self.assertEqual('store2', self.stores_of(snap['id']))
        image = self.client.images.get(snap['id'])
        self.assertEqual(('active', 'store3'),
                         (image['status'], image['os_glance_failed_import']))
        self.assertFalse(self.fake.app._copies)

    def stage(self, data=b'staged'):
        snap = self.new_image()
        self.client.images.stage(snap['id'], io.BytesIO(data))
        self.assertEqual('uploading',
                         self.client.images.get(snap['id'])['status'])
        return snap['id']

    def test_glance_direct_import(self):
        image_id = self.stage()
        self.client.images.image_import(image_id, method='glance-direct',
                                        stores=['store2', 'store3'])
        image = self.client.images.get(image_id)
        self.assertEqual(('active', 'store2,store3', ''),
                         (image['status'], image['stores'],
                          image['os_glance_failed_import']))
        self.assertEqual({'store2': 6, 'store3': 6},
                         self.files_of(image_id))

    def test_glance_direct_import_to_header_or_default_store(self):
        image_id = self.stage()
        self.client.images.image_import(image_id, method='glance-direct',
                                        backend='store3')
        self.assertEqual('store3', self.stores_of(image_id))
        image_id = self.stage()
        self.client.images.image_import(image_id, method='glance-direct')
        self.assertEqual('store1', self.stores_of(image_id))

    @ddt.data({'stores': ['store2', 'os_glance_tasks_store']},
              {'backend': 'os_glance_staging_store'})
    def test_glance_direct_import_refuses_reserved_stores(self, kwargs):
        image_id = self.stage()
        exc = self.assertRaises(glance_exc.HTTPBadRequest,
                                self.client.images.image_import, image_id,
                                method='glance-direct', **kwargs)
        self.assertIn('os_glance_', str(exc))
        self.assertEqual({'os_glance_staging_store': 6},
                         self.files_of(image_id))
        self.assertEqual('uploading',
                         self.client.images.get(image_id)['status'])

    def test_glance_direct_import_needs_staged_data(self):
        snap = self.new_image()
        self.assertRaises(glance_exc.HTTPConflict,
                          self.client.images.image_import, snap['id'],
                          method='glance-direct')


class TestBaseImageRefProperty(FakeGlanceTestCase):
    """Without the header, the image's own base_image_ref places it."""

    def snapshot(self, base_ref, **props):
        # As nova.compute.utils.create_image creates every snapshot.
        return self.new_image(base_image_ref=base_ref, image_type='snapshot',
                              instance_uuid='9b0e3c1a-1f4e-4c59-9d4c-'
                              '2a3c5b7e8f10', **props)

    def test_property_places_and_colocates_like_the_header(self):
        snap = self.snapshot(self.base['id'])
        upload(self.fake, snap['id'])
        self.assertEqual('store2,store3', self.stores_of(snap['id']))
        self.assertNotIn('x-openstack-base-image-ref',
                         self.fake.recorder.uploads()[-1]['headers'])

    def test_headers_win_over_the_property(self):
        other = self.new_image('other', visibility='private')
        upload(self.fake, other['id'], backend='store3')
        by_store = self.snapshot(self.base['id'])
        upload(self.fake, by_store['id'], backend='store1')
        by_header = self.snapshot(self.base['id'])
        upload(self.fake, by_header['id'], headers={BASE_REF: other['id']})
        self.assertEqual(['store1', 'store3'],
                         [self.stores_of(by_store['id']),
                          self.stores_of(by_header['id'])])

    def test_unusable_property_falls_back_like_an_unknown_id(self):
        theirs = self.new_image('theirs', project='projB',
                                visibility='private')
        upload(self.fake, theirs['id'], project='projB', backend='store3')
        for ref in (theirs['id'], 'not-a-uuid',
                    '11111111-2222-3333-4444-555555555555'):
            snap = self.snapshot(ref)
            upload(self.fake, snap['id'])
            self.assertEqual('store1', self.stores_of(snap['id']), ref)

    def test_property_can_be_turned_off(self):
        self.fake.app.base_ref_property = False
        snap = self.snapshot(self.base['id'])
        upload(self.fake, snap['id'])
        self.assertEqual('store1', self.stores_of(snap['id']))


class TestUnpatchedGlance(FakeGlanceTestCase):
    """With base_image_ref_support=False the fake is Glance 33.0.0."""

    def make_fixture(self):
        return fixture.FakeGlanceFixture(base_image_ref_support=False)

    def test_base_ref_is_ignored(self):
        snap = self.new_image()
        upload(self.fake, snap['id'], headers={BASE_REF: self.base['id']})
        self.assertEqual('store1', self.stores_of(snap['id']))

    def test_base_image_ref_property_is_ignored(self):
        snap = self.new_image(base_image_ref=self.base['id'])
        upload(self.fake, snap['id'])
        self.assertEqual('store1', self.stores_of(snap['id']))

    def test_reserved_store_is_accepted_as_upstream_does(self):
        snap = self.new_image()
        upload(self.fake, snap['id'], backend='os_glance_staging_store')
        self.assertEqual('os_glance_staging_store',
                         self.stores_of(snap['id']))

    def test_glance_direct_import_into_reserved_stores(self):
        # What Glance 33 does, measured on the real one.
        answers = []
        for kwargs in ({'stores': ['os_glance_tasks_store']},
                       {'backend': 'os_glance_staging_store'},
                       {'stores': ['os_glance_staging_store']}):
            snap = self.new_image()
            self.client.images.stage(snap['id'], io.BytesIO(b'staged'))
            self.client.images.image_import(snap['id'],
                                            method='glance-direct', **kwargs)
            image = self.client.images.get(snap['id'])
            answers.append((image['status'], image.get('stores'),
                            image['os_glance_failed_import']))
        self.assertEqual(
            [('active', 'os_glance_tasks_store', ''),
             ('importing', None, 'os_glance_staging_store'),
             ('queued', None, 'os_glance_staging_store')], answers)


class TestImageApi(FakeGlanceTestCase):

    def test_checksums_are_computed_while_streaming(self):
        snap = self.new_image()
        upload(self.fake, snap['id'])
        image = self.client.images.get(snap['id'])
        self.assertEqual(len(DATA), image['size'])
        self.assertEqual(hashlib.md5(DATA).hexdigest(), image['checksum'])
        self.assertEqual('sha512', image['os_hash_algo'])
        self.assertEqual(hashlib.sha512(DATA).hexdigest(),
                         image['os_hash_value'])
        self.assertEqual(DATA, b''.join(self.client.images.data(snap['id'])))

    def test_update_list_delete(self):
        snap = self.new_image()
        self.client.images.update(snap['id'], image_type='snapshot')
        self.assertEqual('snapshot',
                         self.client.images.get(snap['id'])['image_type'])
        names = sorted(i['name'] for i in self.client.images.list())
        self.assertEqual(['base', 'snap'], names)
        self.client.images.delete(snap['id'])
        self.assertRaises(glance_exc.HTTPNotFound, self.client.images.get,
                          snap['id'])

    def test_private_image_is_hidden_from_other_projects(self):
        self.assertRaises(glance_exc.HTTPNotFound,
                          self.fake.client('projB').images.get,
                          self.base['id'])

    def test_upload_twice_is_a_conflict(self):
        self.assertRaises(glance_exc.HTTPConflict, upload, self.fake,
                          self.base['id'])

    def test_stores_info_flags_default_and_read_only(self):
        stores = self.client.images.get_stores_info()['stores']
        self.assertEqual(
            [{'id': 'store1', 'default': 'true'}, {'id': 'store2'},
             {'id': 'store3'}, {'id': 'readonly', 'read-only': 'true'}],
            stores)

    def test_stores_detail_types_and_policy(self):
        self.fake.images.add_cinder_store('cinder1', 'lvm',
                                          self.useFixture(
                                              fixtures.TempDir()).path)
        self.assertRaises(glance_exc.HTTPForbidden,
                          self.client.images.get_stores_info_detail)
        service = self.fake.client('projA', roles=('member', 'service'))
        stores = service.images.get_stores_info_detail()['stores']
        self.assertEqual(
            [('store1', 'file'), ('store2', 'file'), ('store3', 'file'),
             ('readonly', 'file'), ('cinder1', 'cinder')],
            [(s['id'], s['type']) for s in stores])
        self.assertEqual({'volume_type': 'lvm', 'use_multipath': False},
                         stores[-1]['properties'])

    def test_add_location_of_an_image_volume(self):
        self.fake.images.add_cinder_store('cinder1', 'lvm',
                                          self.useFixture(
                                              fixtures.TempDir()).path)
        snap = self.new_image()
        # Glance's schema takes hash values only as validation data.
        self.assertRaises(glance_exc.HTTPBadRequest,
                          self.client.images.add_image_location,
                          snap['id'], 'cinder://store3/vol-1',
                          {'store': 'store3'})
        # The store named in the URL does not matter.
        self.client.images.add_image_location(snap['id'],
                                              'cinder://store3/vol-1')
        image = self.fake.client().images.get(snap['id'])
        self.assertEqual(('active', 'cinder1'),
                         (image['status'], image['stores']))
        self.assertEqual('cinder://cinder1/vol-1',
                         image['locations'][0]['url'])

    def test_copy_image_import_needs_admin(self):
        snap = self.new_image()
        upload(self.fake, snap['id'])
        self.assertRaises(glance_exc.HTTPForbidden,
                          self.client.images.image_import, snap['id'],
                          method='copy-image', stores=['store2'])
        admin = self.fake.client('projA', roles=('admin',))
        admin.images.image_import(snap['id'], method='copy-image',
                                  all_stores=True)
        self.assertEqual('store1,store2,store3', self.stores_of(snap['id']))

    def test_list_pages_with_limit_and_marker(self):
        for index in range(4):
            self.new_image('page-%d' % index)
        pages = []
        marker = None
        for _ in range(10):
            query = {'limit': 2}
            if marker:
                query['marker'] = marker
            body = self.client.http_client.get(
                '/v2/images', params=query)[1]
            pages.append([i['name'] for i in body['images']])
            if 'next' not in body:
                break
            marker = body['images'][-1]['id']
        self.assertEqual([['base', 'page-0'], ['page-1', 'page-2'],
                          ['page-3']], pages)
        self.assertRaises(glance_exc.HTTPBadRequest,
                          self.client.http_client.get, '/v2/images',
                          params={'marker': 'no-such-image'})

    def test_import_info_offers_copy_image(self):
        body = self.client.http_client.get('/v2/info/import')[1]
        self.assertEqual(['glance-direct', 'copy-image'],
                         body['import-methods']['value'])

    def test_delete_from_store_needs_admin_and_keeps_the_last(self):
        admin = self.fake.client('projA', roles=('admin',))
        self.assertRaises(glance_exc.HTTPForbidden,
                          self.client.images.delete_from_store,
                          'store2', self.base['id'])
        admin.images.delete_from_store('store2', self.base['id'])
        self.assertEqual('store3', self.stores_of(self.base['id']))
        self.assertFalse(os.path.exists(
            self.fake.images.stores['store2'].file_for(self.base['id'])))
        self.assertRaises(glance_exc.HTTPConflict,
                          admin.images.delete_from_store,
                          'store3', self.base['id'])
        self.assertRaises(glance_exc.HTTPNotFound,
                          admin.images.delete_from_store,
                          'store1', self.base['id'])


class TestRecorderAndFaults(FakeGlanceTestCase):

    def test_every_request_is_recorded_with_tokens_hashed(self):
        self.fake.recorder.clear()
        snap = self.new_image()
        upload(self.fake, snap['id'], headers={BASE_REF: self.base['id']})
        methods = [(e['method'], e['path']) for e in
                   self.fake.recorder.entries()]
        self.assertIn(('POST', '/v2/images'), methods)
        self.assertIn(('PUT', '/v2/images/%s/file' % snap['id']), methods)
        put = self.fake.recorder.uploads()[0]
        self.assertEqual(self.base['id'],
                         put['headers']['x-openstack-base-image-ref'])
        self.assertTrue(put['headers']['x-auth-token'].startswith(
            '{SHA256}'))
        self.assertNotIn('projA', put['headers']['x-auth-token'])

    def test_http_503_fault_fires_count_times(self):
        snap = self.new_image()
        before = len(self.fake.recorder.uploads())
        self.fake.faults.arm('http_503', kind='upload', count=1)
        self.assertRaises(glance_exc.HTTPServiceUnavailable, upload,
                          self.fake, snap['id'])
        upload(self.fake, snap['id'])
        self.assertEqual('active',
                         self.client.images.get(snap['id'])['status'])
        # Both attempts reached the fake: the failed one and the retry.
        self.assertEqual(before + 2, len(self.fake.recorder.uploads()))

    def test_slow_fault_delays_the_answer(self):
        self.fake.faults.arm('slow', kind='show', count=1, delay=0.3)
        start = time.monotonic()
        self.client.images.get(self.base['id'])
        self.assertGreaterEqual(time.monotonic() - start, 0.3)

    def test_copy_faults_fire_on_copies_only(self):
        self.fake.faults.arm('http_500', kind='any', count=1)
        copy_fault = self.fake.faults.arm('http_500', kind='copy', count=1)
        # The fault armed for any request fires on the next request.
        self.assertRaises(glance_exc.HTTPInternalServerError,
                          self.client.images.get, self.base['id'])
        snap = self.new_image()
        upload(self.fake, snap['id'], headers={BASE_REF: self.base['id']})
        self.assertEqual('store2', self.stores_of(snap['id']))
        self.assertEqual('store3', self.client.images.get(snap['id'])[
            'os_glance_failed_import'])
        self.assertEqual(0, copy_fault.remaining)

    def test_unknown_fault_names_the_choices(self):
        exc = self.assertRaises(ValueError, self.fake.faults.arm,
                                'explode', kind='upload')
        self.assertIn('http_NNN or slow', str(exc))


class TestLoopbackOnly(base.TestCase):

    def test_binds_loopback_free_port_and_stops(self):
        fake = fixture.FakeGlanceFixture()
        fake.setUp()
        self.assertTrue(fake.url.startswith('http://127.0.0.1:'))
        port = fake.server.port
        self.assertNotEqual(0, port)
        fake.cleanUp()
        self.assertFalse(fake.server._thread.is_alive())
        self.assertFalse(os.path.exists(fake.images.stores['store1'].path))


@ddt.ddt
class TestCopyPaths(FakeGlanceTestCase):
    """How the fake copies: staged, or direct as Glance commit 11."""

    def make_fixture(self):
        return fixture.FakeGlanceFixture(parallel_stores=3)

    def copy_image(self, image_id, stores, allow_failure=False):
        self.fake.client('projA', roles=('admin',)).images.image_import(
            image_id, method='copy-image', stores=stores,
            allow_failure=allow_failure)

    def in_store1(self):
        snap = self.new_image()
        upload(self.fake, snap['id'], backend='store1')
        return snap['id']

    def data_in(self, store_id, image_id):
        with open(self.fake.images.stores[store_id].file_for(image_id),
                  'rb') as f:
            return f.read()

    def test_direct_copy_writes_every_store_from_one_read(self):
        image_id = self.in_store1()
        reads = []
        real_open = open

        def counting_open(path, *args, **kwargs):
            if path.endswith(image_id) and 'store1' in path:
                reads.append(path)
            return real_open(path, *args, **kwargs)

        self.useFixture(fixtures.MockPatch('builtins.open', counting_open))
        self.copy_image(image_id, ['store2', 'store3'])
        self.assertEqual('store1,store2,store3', self.stores_of(image_id))
        self.assertEqual(1, len(reads))
        self.assertEqual({image_id: [['store2', 'store3']]},
                         self.fake.app.direct_copies)
        self.assertEqual([DATA, DATA], [self.data_in(s, image_id)
                                        for s in ('store2', 'store3')])
        self.assertFalse(os.path.exists(
            self.fake.images.staged_file(image_id)))

    @ddt.data({'parallel_stores': 1}, {'direct_copy': False})
    def test_otherwise_the_copy_is_staged(self, options):
        self.fake.app.__dict__.update(options)
        image_id = self.in_store1()
        staged = []
        real_stage = self.fake.images.stage_copy

        def stage_copy(image_id):
            real_stage(image_id)
            staged.append(os.path.getsize(
                self.fake.images.staged_file(image_id)))

        self.useFixture(fixtures.MockPatchObject(
            self.fake.images, 'stage_copy', stage_copy))
        self.copy_image(image_id, ['store2', 'store3'])
        self.assertEqual('store1,store2,store3', self.stores_of(image_id))
        self.assertEqual([len(DATA)], staged)
        self.assertEqual({}, self.fake.app.direct_copies)
        self.assertEqual(DATA, self.data_in('store3', image_id))
        # Nothing is left in staging.
        self.assertFalse(os.path.exists(
            self.fake.images.staged_file(image_id)))

    def test_more_stores_than_parallel_ones_are_written_in_rounds(self):
        self.fake = self.useFixture(fixture.FakeGlanceFixture(
            stores=fixture.DEFAULT_STORES + (('store4', False),),
            parallel_stores=2))
        self.client = self.fake.client('projA')
        self.useFixture(fixtures.MockPatchObject(
            self.fake.images, 'copy_to_many',
            side_effect=self.fake.images.copy_to_many))
        image_id = self.in_store1()
        self.copy_image(image_id, ['store2', 'store3', 'store4'])
        self.assertEqual('store1,store2,store3,store4',
                         self.stores_of(image_id))
        self.assertEqual([['store2', 'store3'], ['store4']],
                         [c.args[1] for c in
                          self.fake.images.copy_to_many.call_args_list])
        self.assertEqual({image_id: [['store2', 'store3', 'store4']]},
                         self.fake.app.direct_copies)

    def test_a_copy_holds_the_import_lock_and_has_a_task(self):
        image_id = self.in_store1()
        self.fake.faults.arm('slow', kind='copy', count=1, delay=1.0)
        self.copy_image(image_id, ['store2'])
        image = self.client.images.get(image_id)
        task_id = image['os_glance_import_task']
        self.assertTrue(task_id)
        exc = self.assertRaises(glance_exc.HTTPConflict, self.copy_image,
                                image_id, ['store3'])
        self.assertIn('active task', str(exc))
        self.assertEqual('store1,store2', self.stores_of(image_id))
        image = self.client.images.get(image_id)
        self.assertNotIn('os_glance_import_task', image)
        _resp, body = self.fake.client().http_client.get(
            '/v2/images/%s/tasks' % image_id)
        self.assertEqual([(task_id, 'success')],
                         [(t['id'], t['status']) for t in body['tasks']])
        # The lock is gone: the next copy is accepted.
        self.copy_image(image_id, ['store3'])
        self.assertEqual('store1,store2,store3', self.stores_of(image_id))

    @ddt.data(3, 1)
    def test_a_store_that_cannot_be_written_fails_alone(self, parallel):
        self.fake.app.parallel_stores = parallel
        image_id = self.in_store1()
        folder = self.fake.images.stores['store3'].path
        os.rename(folder, folder + '.away')
        self.addCleanup(os.rename, folder + '.away', folder)
        self.copy_image(image_id, ['store2', 'store3'], allow_failure=True)
        self.assertEqual('store1,store2', self.stores_of(image_id))
        image = self.client.images.get(image_id)
        self.assertEqual(('store3', ''),
                         (image['os_glance_failed_import'],
                          image['os_glance_importing_to_stores']))
        self.assertEqual(DATA, self.data_in('store2', image_id))

    def test_delete_during_a_direct_copy_leaves_no_data(self):
        image_id = self.in_store1()
        # NOTE: long enough for a loaded machine to start both writes
        # well before the copy can end; the test waits for them only.
        self.fake.faults.arm('slow', kind='copy', count=1, delay=3.0)
        self.copy_image(image_id, ['store2', 'store3'])
        for store_id in ('store2', 'store3'):
            path = self.fake.images.stores[store_id].file_for(image_id)
            self.assertTrue(_appears(path + '.part'), store_id)
        self.client.images.delete(image_id)
        self.assertTrue(self.fake.app.wait_for_copies(30))
        for store in self.fake.images.stores.values():
            self.assertEqual([], [n for n in os.listdir(store.path)
                                  if n.startswith(image_id)], store.id)
