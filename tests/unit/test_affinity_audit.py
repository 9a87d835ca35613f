"""The audit against the fake Glance, through openstacksdk."""

import datetime

from affinityclient import audit
from affinityclient import exceptions
from affinityclient import stores as stores_mod
from affinityclient import summary
from tests.unit import affinity_base


class TestAudit(affinity_base.AffinityTestCase):

    def setUp(self):
        super().setUp()
        b2, b23 = self.base2, self.base23
        self.misplaced = {
            self.add_snapshot('s1', 'p1', b2): ('store2',),
            self.add_snapshot('s2', 'p1', b23, ('store2',)): ('store3',),
            self.add_snapshot('s3', 'p2', b23, kind='backup'):
                ('store2', 'store3'),
            self.add_image('v1', 'p2', ('store1',), image_id=b2):
                ('store2',),
        }
        # In place: in every writable store of the base (and maybe more).
        self.add_snapshot('ok1', 'p1', b2, ('store2',))
        self.add_snapshot('ok2', 'p2', b23, ('store1', 'store2', 'store3'))
        # The base's read-only store is no target.
        self.add_snapshot('ok3', 'p1', self.base_ro, ('store1',))
        # No base at all: a plain image, a volume-backed snapshot.
        self.add_image('plain', 'p1', ('store1',))
        self.add_image('bfv', 'p1', (), image_type='snapshot',
                       base_image_ref='')
        # Bases that cannot be judged.
        private = self.add_image('private', 'p3', ('store3',))
        queued = self.add_image('queued', 'admin', (), visibility='public')
        # An admin sees a private base of another project; its owner's
        # project does not (see the member test).
        self.foreign = self.add_snapshot('foreign', 'p1', private)
        self.misplaced[self.foreign] = ('store3',)
        self.unjudged = {
            self.add_snapshot(
                'gone', 'p1', '0b6c3a0e-8c59-4d53-9a3a-4c5e0d3f0c11'):
            'not found or not visible',
            self.add_snapshot('q', 'p1', queued): 'is queued, not active',
        }

    def run_audit(self, conn=None, page_size=2, cache_size=None, **kw):
        conn = conn or self.connection()
        only_store = kw.pop('only_store', None)
        stores = stores_mod.load_stores(conn.image)
        return list(audit.audit(conn.image, stores, self.filters(**kw),
                                only_store=only_store, page_size=page_size,
                                cache_size=cache_size))

    def test_finds_exactly_the_misplaced_images(self):
        # Pages of two images and a cache of one base: bounded memory
        # gives the same answer.
        found = self.run_audit(cache_size=1)
        misplaced = dict((f.image, f.missing) for f in found if f.misplaced)
        self.assertEqual(self.misplaced, misplaced)
        unjudged = dict((f.image, f.reason) for f in found
                        if not f.misplaced)
        self.assertEqual(set(self.unjudged), set(unjudged))
        for image_id, reason in self.unjudged.items():
            self.assertIn(reason, unjudged[image_id])
        self.assertEqual(len(self.misplaced) + len(self.unjudged),
                         len(found))
        # Glance was asked page by page: limit, then marker after marker.
        lists = self.fake.recorder.entries('GET', '/v2/images')
        self.assertGreater(len(lists), 5)
        self.assertEqual('2', lists[0]['query']['limit'])
        self.assertNotIn('marker', lists[0]['query'])
        self.assertTrue(all('marker' in e['query'] for e in lists[1:]))

    def test_finding_fields(self):
        found = dict((f.image, f) for f in self.run_audit())
        finding = [f for f in found.values() if f.name == 's2'][0]
        self.assertEqual(('store2',), finding.stores_now)
        self.assertEqual(('store2', 'store3'), finding.stores_wanted)
        self.assertEqual(('store3',), finding.missing)
        self.assertEqual(self.base23, finding.base)
        self.assertEqual(len(affinity_base.DATA), finding.size)
        self.assertEqual('not in store3, where its base image is',
                         finding.reason)

    def test_filters_project_type_and_store(self):
        def names(found):
            return sorted(f.name for f in found if f.misplaced)
        self.assertEqual(['foreign', 's1', 's2'],
                         names(self.run_audit(owner='p1')))
        self.assertEqual(['s3'], names(self.run_audit(kinds=['backup'])))
        self.assertEqual(['v1'], names(self.run_audit(kinds=['volume'])))
        only3 = self.run_audit(only_store='store3')
        self.assertEqual(['foreign', 's2', 's3'], names(only3))
        self.assertEqual([('store3',)] * 3, [f.missing for f in only3])

    def test_age_filters(self):
        old = self.fake.images.images[
            [i for i, f in self.misplaced.items() if f == ('store2',)][0]]
        old['created_at'] = '2020-01-01T00:00:00Z'
        older = self.run_audit(older_than=datetime.timedelta(days=30))
        self.assertEqual([old['id']], [f.image for f in older])
        newer = self.run_audit(newer_than=datetime.timedelta(days=30))
        self.assertNotIn(old['id'], [f.image for f in newer])
        self.assertEqual(len(self.misplaced) + len(self.unjudged) - 1,
                         len(newer))

    def test_member_sees_its_own_images_only(self):
        conn = self.connection('p2', roles=('member', 'reader'))
        found = self.run_audit(conn=conn, owner='p2')
        self.assertEqual(['s3', 'v1'], sorted(f.name for f in found))
        # Without an owner filter Glance's visibility still applies.
        found = self.run_audit(conn=conn)
        self.assertEqual(['s3', 'v1'], sorted(f.name for f in found))
        # A base private to another project is as good as missing.
        conn = self.connection('p1', roles=('member', 'reader'))
        found = dict((f.name, f) for f in self.run_audit(conn=conn,
                                                         owner='p1'))
        self.assertFalse(found['foreign'].misplaced)
        self.assertIn('not found or not visible', found['foreign'].reason)
        self.assertEqual((), found['foreign'].stores_wanted)

    def test_copy_in_progress_is_not_misplaced(self):
        image_id = [i for i, f in self.misplaced.items()
                    if f == ('store3',)][0]
        self.fake.images.update(image_id, {
            'os_glance_importing_to_stores': 'store3'})
        finding = [f for f in self.run_audit() if f.image == image_id][0]
        self.assertEqual(('store3',), finding.missing)
        self.assertEqual('copy in progress into store3', finding.reason)

    def test_summary_per_store_pair(self):
        total = summary.Summary()
        for finding in self.run_audit():
            total.add(finding)
        self.assertEqual([('store1', 'store2', 3, 0.0),
                          ('store1', 'store3', 2, 0.0),
                          ('store2', 'store3', 1, 0.0)], total.rows())


class TestStores(affinity_base.AffinityTestCase):

    def test_writable_stores_with_and_without_detail(self):
        for conn in (self.connection(),
                     self.connection('p1', roles=('member',))):
            stores = stores_mod.load_stores(conn.image)
            self.assertEqual(('store1', 'store2', 'store3'),
                             stores.writable)
            self.assertEqual(('store1', 'store2', 'store3', 'readonly'),
                             stores.ids)

    def test_unknown_and_read_only_targets_are_refused(self):
        stores = stores_mod.load_stores(self.connection().image)
        exc = self.assertRaises(exceptions.StoreError,
                                stores.check_target, 'nope')
        self.assertIn("unknown store 'nope'", str(exc))
        exc = self.assertRaises(exceptions.StoreError,
                                stores.check_target, 'readonly')
        self.assertIn("store 'readonly' is read-only", str(exc))
        stores.check_target('store3')

    def test_not_multi_store_is_a_clear_error(self):
        # Glance without enabled_backends answers 404 here.
        self.fake.faults.arm('http_404', 'stores_detail')
        self.fake.faults.arm('http_404', 'stores')
        exc = self.assertRaises(exceptions.NotMultiStore,
                                stores_mod.load_stores,
                                self.connection().image)
        self.assertIn('not multi-store', str(exc))
