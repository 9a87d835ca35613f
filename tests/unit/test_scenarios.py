"""The scenario rows against the fake Glance, patched and as Glance 33."""

import os

import ddt
import fixtures

from patchseries.fakeglance import fixture
from patchseries import scenarios
from tests import base


@ddt.ddt
class TestGlanceRowsOnFake(base.TestCase):

    @ddt.data(True, False)
    def test_every_row_gives_its_expected_answer(self, patched):
        fake = self.useFixture(fixture.FakeGlanceFixture(
            base_image_ref_support=patched))
        results = scenarios.run_rows(
            scenarios.Glance('fake', fake.url, recorder=fake.recorder,
                             faults=fake.faults, images=fake.images,
                             set_policy=fake.app.set_policy))
        text, failures = scenarios.format_table([('fake', results)],
                                                {'glance': patched})
        row = 'base ref only in a read-only store -> default'
        self.assertEqual('store1', results[row]['outcome'])
        # The policy row put the default policy back.
        self.assertEqual({}, fake.app.policy)
        self.assertEqual(0, failures, text)
        self.assertEqual(len(scenarios.GLANCE_ROWS), len(results))

    @ddt.data(('colocation', 'colocate_policy', 'base_ref_property'),
              ('base_ref_property',), ('colocate_policy',))
    def test_a_partial_series_gives_its_own_expected_answers(self, missing):
        # An older release whose glance series stops before some commits:
        # the fake does what that series does, and the rows expect it.
        state = {'glance': scenarios.Partial(missing)}
        fake = self.useFixture(fixture.FakeGlanceFixture(
            colocation=scenarios.has(state, 'glance', 'colocation'),
            base_ref_property=scenarios.has(state, 'glance',
                                            'base_ref_property'),
            colocate_policy=scenarios.has(state, 'glance',
                                          'colocate_policy')))
        results = scenarios.run_rows(
            scenarios.Glance('fake', fake.url, recorder=fake.recorder,
                             faults=fake.faults, images=fake.images,
                             set_policy=fake.app.set_policy))
        text, failures = scenarios.format_table([('fake', results)], state)
        self.assertEqual(0, failures, text)
        outcome = results['base ref -> base stores (co-located)']['outcome']
        self.assertEqual('store2' if 'colocation' in missing
                         else 'store2,store3', outcome)
        prop = results['base_image_ref property, no header -> base stores']
        self.assertEqual('store1' if 'base_ref_property' in missing
                         else outcome, prop['outcome'])

    def test_column_that_cannot_run_a_row_says_so(self):
        fake = self.useFixture(fixture.FakeGlanceFixture())
        # Without access to the fake's stores, faults and policy, as with
        # a Glance that offers none of them. (The copy rows would copy
        # COPY_SIZE bytes without a pause: not a unit test.)
        rows = [row for row in scenarios.GLANCE_ROWS
                if 'co-location copy' not in row.name]
        results = scenarios.run_rows(scenarios.Glance('other', fake.url),
                                     rows)
        row = 'base ref only in a read-only store -> default'
        self.assertEqual(scenarios.NOT_RUN_READ_ONLY,
                         results[row]['outcome'])
        row = 'base ref, colocate_image policy "!" -> upload, no copy'
        self.assertEqual(scenarios.NOT_RUN_POLICY, results[row]['outcome'])
        text, failures = scenarios.format_table([('other', results)],
                                                {'glance': True}, rows)
        self.assertEqual(0, failures, text)

    def test_a_wrong_answer_fails_its_row(self):
        results = {row.name: {'outcome': 'store9'}
                   for row in scenarios.GLANCE_ROWS}
        text, failures = scenarios.format_table([('fake', results)],
                                                {'glance': True})
        self.assertEqual(len(scenarios.GLANCE_ROWS), failures)
        self.assertIn('FAILED', text)

    def test_base_ref_rows_carry_the_header_on_the_upload_only(self):
        fake = self.useFixture(fixture.FakeGlanceFixture())
        glance = scenarios.Glance('fake', fake.url, recorder=fake.recorder)
        bases = scenarios.Bases(glance)
        fake.recorder.clear()
        row = dict((r.name, r.run) for r in scenarios.GLANCE_ROWS)
        run = row['base ref -> base stores (co-located)']
        result = run(glance, bases, None)
        self.assertEqual('store2,store3', result['outcome'])
        carrying = [(e['method'], e['path']) for e in fake.recorder.entries()
                    if scenarios.BASE_REF.lower() in e['headers']]
        self.assertEqual(1, len(carrying))
        self.assertEqual('PUT', carrying[0][0])


class TestReleaseExpectations(base.TestCase):

    def row(self):
        return scenarios.Row(
            'toy row', lambda g, b, env: {'outcome': 'x'},
            lambda state: 'new' if state.get('glance') else 'old',
            wire=lambda state: 'PUT: -',
            releases={'2024.1': {'expect': lambda state: 'older',
                                 'wire': lambda state: 'no PUT'}})

    def test_a_release_entry_replaces_only_that_release_s_answer(self):
        row = self.row()
        self.assertEqual('new', row.expected({'glance': True}))
        self.assertEqual('new', row.expected({'glance': True}, '2026.2'))
        self.assertEqual('older', row.expected({'glance': True}, '2024.1'))
        self.assertEqual('PUT: -', row.expected_wire({}, '2025.1'))
        self.assertEqual('no PUT', row.expected_wire({}, '2024.1'))

    def test_format_table_judges_by_the_release(self):
        row = self.row()
        columns = [('fake', {'toy row': {'outcome': 'older',
                                         'wire': 'no PUT'}})]
        text, failed = scenarios.format_table(columns, {'glance': True},
                                              [row], release='2024.1')
        self.assertEqual(0, failed, text)
        text, failed = scenarios.format_table(columns, {'glance': True},
                                              [row], release='2026.2')
        self.assertEqual(1, failed, text)


class TestCinder24ClonePath(base.TestCase):
    """Cinder 24 registers a clone through the legacy image PATCH.

    Glance's default policy and the fake refuse it, with or without the
    cinder series, which does not bring the newer add-location API.
    """

    ROWS = ('cinder: clone path, type store = cinder store of the type',
            'cinder: clone path, no type store',
            'cinder: clone path, Glance 500 on the store look-up')

    def rows(self):
        return dict((r.name, r) for r in scenarios.CLIENT_ROWS
                    if '2024.1' in r.releases)

    def test_only_the_clone_rows_that_would_clone_differ(self):
        self.assertEqual(sorted(self.ROWS), sorted(self.rows()))

    def test_the_clone_is_dropped_with_and_without_the_series(self):
        rows = self.rows()
        for cinder in (False, True):
            state = {'cinder': cinder, 'glance': cinder}
            self.assertEqual(
                'clone dropped, upload: store1',
                rows[self.ROWS[1]].expected(state, '2024.1'))
            self.assertEqual('PUT: -',
                             rows[self.ROWS[1]].expected_wire(state, '2024.1'))
            self.assertEqual(
                'clone dropped, upload: cinder1',
                rows[self.ROWS[0]].expected(state, '2024.1'))
            self.assertEqual(
                'PUT: store=cinder1',
                rows[self.ROWS[0]].expected_wire(state, '2024.1'))

    def test_later_releases_keep_the_row_s_own_answer(self):
        patched = {'cinder': True, 'glance': True}
        for row in self.rows().values():
            self.assertEqual(row.expected(patched),
                             row.expected(patched, '2025.1'))
        self.assertEqual('clone: cinder1',
                         self.rows()[self.ROWS[1]].expected(patched, '2025.1'))

    def test_a_failed_look_up_uploads_with_the_series(self):
        row = self.rows()[self.ROWS[2]]
        self.assertEqual('upload: store1',
                         row.expected({'cinder': True}, '2024.1'))
        self.assertEqual('clone dropped, upload: store1',
                         row.expected({'cinder': False}, '2024.1'))


@ddt.ddt
class TestDirectCopyRows(base.TestCase):
    """The rows of Glance commit 11's direct copy, on the fake."""

    def run_on_fake(self, state, direct_copy, parallel_stores=None):
        parallel_stores = parallel_stores or scenarios.PARALLEL_STORES
        fake = self.useFixture(fixture.FakeGlanceFixture(
            base_image_ref_support=bool(state['glance']),
            colocation=scenarios.has(state, 'glance', 'colocation'),
            parallel_stores=parallel_stores, direct_copy=direct_copy))
        return scenarios.run_rows(
            scenarios.Glance('fake', fake.url, recorder=fake.recorder,
                             faults=fake.faults, images=fake.images,
                             staging_dir=fake.images.staging_dir,
                             direct_copies=fake.app.direct_copies.get,
                             parallel_stores=scenarios.PARALLEL_STORES),
            scenarios.DIRECT_COPY_ROWS)

    @ddt.data(True, scenarios.Partial(['direct_copy']), False)
    def test_each_state_gives_its_expected_answers(self, applied):
        state = {'glance': applied}
        direct = scenarios.has(state, 'glance', 'direct_copy')
        results = self.run_on_fake(state, direct_copy=direct)
        text, failures = scenarios.format_table(
            [('fake', results)], state, scenarios.DIRECT_COPY_ROWS)
        self.assertEqual(0, failures, text)
        outcome = scenarios.outcome(results[
            scenarios.DIRECT_COPY_ROWS[0].name])
        self.assertTrue(outcome.startswith(
            'direct to store2,store3: ' if direct else 'staged: '), outcome)

    def test_a_glance_that_stages_fails_every_row(self):
        # The series is applied, but the Glance copies as before commit
        # 11: no row can pass by accident.
        state = {'glance': True}
        results = self.run_on_fake(state, direct_copy=False)
        text, failures = scenarios.format_table(
            [('fake', results)], state, scenarios.DIRECT_COPY_ROWS)
        self.assertEqual(len(scenarios.DIRECT_COPY_ROWS), failures, text)

    def test_max_parallel_stores_of_one_stages_too(self):
        state = {'glance': True}
        results = self.run_on_fake(state, direct_copy=True,
                                   parallel_stores=1)
        _text, failures = scenarios.format_table(
            [('fake', results)], state, scenarios.DIRECT_COPY_ROWS)
        self.assertEqual(len(scenarios.DIRECT_COPY_ROWS), failures)

    def test_every_row_needs_the_parallel_glance(self):
        for row in scenarios.DIRECT_COPY_ROWS:
            self.assertEqual(scenarios.PARALLEL_STORES, row.parallel_stores)
            self.assertIn(row, scenarios.GLANCE_ROWS)
        others = [row for row in scenarios.GLANCE_ROWS
                  if row not in scenarios.DIRECT_COPY_ROWS]
        self.assertEqual({1}, set(row.parallel_stores for row in others))

    def test_a_glance_started_otherwise_does_not_run_them(self):
        fake = self.useFixture(fixture.FakeGlanceFixture())
        results = scenarios.run_rows(
            scenarios.Glance('fake', fake.url, recorder=fake.recorder),
            scenarios.DIRECT_COPY_ROWS)
        self.assertEqual({scenarios.NOT_RUN_PARALLEL},
                         set(scenarios.outcome(r) for r in results.values()))

    def test_a_glance_that_cannot_tell_how_it_copied_says_so(self):
        fake = self.useFixture(fixture.FakeGlanceFixture(parallel_stores=3))
        rows = scenarios.DIRECT_COPY_ROWS[:1]
        results = scenarios.run_rows(
            scenarios.Glance('other', fake.url,
                             parallel_stores=scenarios.PARALLEL_STORES),
            rows)
        self.assertEqual(scenarios.NOT_RUN_COPY_PATH,
                         scenarios.outcome(results[rows[0].name]))

    def test_copied_how_names_each_direct_copy(self):
        glance = scenarios.Glance('x', 'http://127.0.0.1:1', direct_copies={
            'a': [['store3', 'store2']], 'b': [['store2'], ['store3']]}.get)
        self.assertEqual('direct to store2,store3',
                         scenarios._copied_how(glance, 'a'))
        self.assertEqual('direct to store2 + direct to store3',
                         scenarios._copied_how(glance, 'b'))
        self.assertEqual('staged', scenarios._copied_how(glance, 'c'))

    def test_data_check_compares_every_byte(self):
        data = b'a' * 1000 + b'b' * 1000
        dirs = {}
        for store, content in (('store1', data),
                               ('store2', b'b' * 1000 + b'a' * 1000)):
            dirs[store] = self.useFixture(fixtures.TempDir()).path
            with open(os.path.join(dirs[store], 'img'), 'wb') as f:
                f.write(content)
        dirs['store3'] = self.useFixture(fixtures.TempDir()).path
        self.assertEqual('data ok',
                         scenarios._data_check(dirs, 'img', ['store1'], data))
        self.assertEqual(
            'data: store2 differs, store3: no file',
            scenarios._data_check(dirs, 'img', ['store1', 'store2', 'store3'],
                                  data))
