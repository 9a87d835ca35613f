"""A fake Glance with a small cloud of images, for the affinity tests.

The images are written straight into the fake's store (fast); the code
under test reaches them over HTTP through openstacksdk, as the
``openstack`` command does.
"""

import io

import openstack.connection

from affinityclient import images as images_mod
from patchseries.fakeglance import fixture
from tests import base

DATA = b'x' * 1024


class AffinityTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.fake = self.useFixture(fixture.FakeGlanceFixture())
        self.base2 = self.add_image('base2', 'admin', ('store2',),
                                    visibility='public')
        self.base23 = self.add_image('base23', 'admin',
                                     ('store2', 'store3'),
                                     visibility='public')
        self.base_ro = self.add_image('base-ro', 'admin',
                                      ('store1', 'readonly'),
                                      visibility='public')

    def add_image(self, name, owner, stores, data=DATA, **props):
        props.setdefault('disk_format', 'raw')
        props.setdefault('container_format', 'bare')
        props.setdefault('visibility', 'private')
        record = self.fake.images.create(dict(name=name, **props), owner)
        if stores:
            self.fake.images.write(record['id'], io.BytesIO(data),
                                   stores[0])
            for store_id in stores[1:]:
                self.fake.images.copy_to(record['id'], store_id)
        return record['id']

    def add_snapshot(self, name, owner, base, stores=('store1',),
                     kind='snapshot'):
        return self.add_image(name, owner, stores, image_type=kind,
                              base_image_ref=base)

    def connection(self, project='admin', roles=('admin',)):
        return openstack.connection.Connection(
            session=self.fake.session(project, roles),
            image_endpoint_override=self.fake.url)

    def stores_of(self, image_id):
        self.assertTrue(self.fake.app.wait_for_copies(30),
                        'copies still running after 30s')
        record = self.fake.images.get(image_id)
        return tuple(loc['metadata']['store'] for loc in record['locations'])

    def filters(self, **kw):
        return images_mod.Filters(**kw)
