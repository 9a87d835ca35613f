"""The fake Glance, driven by the real python-glanceclient over HTTP."""

import hashlib
import io
import os
import time

import ddt
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


class TestUnpatchedGlance(FakeGlanceTestCase):
    """With base_image_ref_support=False the fake is Glance 33.0.0."""

    def make_fixture(self):
        return fixture.FakeGlanceFixture(base_image_ref_support=False)

    def test_base_ref_is_ignored(self):
        snap = self.new_image()
        upload(self.fake, snap['id'], headers={BASE_REF: self.base['id']})
        self.assertEqual('store1', self.stores_of(snap['id']))

    def test_reserved_store_is_accepted_as_upstream_does(self):
        snap = self.new_image()
        upload(self.fake, snap['id'], backend='os_glance_staging_store')
        self.assertEqual('os_glance_staging_store',
                         self.stores_of(snap['id']))


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
