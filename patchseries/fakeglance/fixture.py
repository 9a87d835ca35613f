"""FakeGlanceFixture: a fake Glance on loopback for one test."""

import os

import fixtures
from glanceclient import client as glance_client
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint

from patchseries.fakeglance import app as app_mod
from patchseries.fakeglance import faults as faults_mod
from patchseries.fakeglance import recorder as recorder_mod
from patchseries.fakeglance import server as server_mod
from patchseries.fakeglance import store as store_mod
from patchseries import glance_identity

# Three writable file stores, as the scenario table and Glance's own
# functional tests use, and one read-only store.
DEFAULT_STORES = (('store1', False), ('store2', False), ('store3', False),
                  ('readonly', True))


class FakeGlanceFixture(fixtures.Fixture):
    """Start a fake Glance; stop it and remove its stores at cleanup.

    :param stores: ``(store id, read only)`` in configuration order.
    :param default: the default store.
    :param base_image_ref_support: False behaves like Glance 33.0.0.
    :param colocate_policy: False ignores a ``colocate_image`` rule.
    :param base_ref_property: False ignores the image's own
        ``base_image_ref`` property (``[DEFAULT] base_image_ref_property``).
    :param parallel_stores: ``[image_import_opts] max_parallel_stores``.
    :param direct_copy: False copies as a Glance without commit 11 does
        (staged, one store after the other) whatever ``parallel_stores``.
    """

    def __init__(self, stores=DEFAULT_STORES, default='store1',
                 base_image_ref_support=True, colocation=True, root=None,
                 base_ref_property=True, colocate_policy=True,
                 parallel_stores=1, direct_copy=True):
        super().__init__()
        self.parallel_stores = parallel_stores
        self.direct_copy = direct_copy
        self.colocate_policy = colocate_policy
        self.stores = stores
        self.default = default
        self.base_image_ref_support = base_image_ref_support
        self.colocation = colocation
        self.base_ref_property = base_ref_property
        self.root = root

    def _setUp(self):
        root = self.root or self.useFixture(fixtures.TempDir()).path
        self.images = store_mod.ImageStore(
            os.path.join(root, 'stores'), self.stores, self.default)
        self.recorder = recorder_mod.Recorder()
        self.faults = faults_mod.Faults()
        self.app = app_mod.FakeGlance(
            self.images, self.recorder, self.faults,
            base_image_ref_support=self.base_image_ref_support,
            colocation=self.colocation,
            base_ref_property=self.base_ref_property,
            colocate_policy=self.colocate_policy,
            parallel_stores=self.parallel_stores,
            direct_copy=self.direct_copy)
        self.server = server_mod.LoopbackServer(self.app).start()
        self.addCleanup(self.server.stop)
        self.url = self.server.url

    def session(self, project=None, roles=('member', 'reader')):
        """A keystoneauth session as Nova and Cinder build them."""
        if project is None:
            auth = noauth.NoAuth(endpoint=self.url)
        else:
            auth = token_endpoint.Token(
                self.url, glance_identity.make_token(project, roles=roles))
        return ks_session.Session(auth=auth)

    def client(self, project=None, roles=('member', 'reader')):
        """A real glanceclient v2 client of the fake."""
        return glance_client.Client(
            '2', session=self.session(project, roles),
            endpoint_override=self.url)
