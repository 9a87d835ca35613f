import json
import os
import sys
import threading

import fixtures

from patchseries import clients
from patchseries import exceptions
from patchseries import realglance
from patchseries import scenarios
from patchseries import table
from tests import base
from tests.unit import test_tree


class TestUpstreamCheckout(test_tree.TreeTestCase):

    def test_patched_tree_is_upstream_inside_and_restored_after(self):
        repo = self.make_tree()
        base.commit_change(repo, 'toy/core.py', 'def answer():\n    pass\n',
                           'Change the answer', 'I' + 'c' * 40)
        patched_head = repo.head()
        side = table.Side(self.release, repo.path, '/nonexistent', True)
        with table.upstream_checkout({'toy': side}):
            self.assertEqual(repo.out('rev-parse', 'upstream/toy-1.0'),
                             repo.head())
        self.assertEqual(patched_head, repo.head())
        self.assertEqual('patch-queue/toy-1.0', repo.branch())

    def test_kept_project_stays_patched(self):
        repo = self.make_tree()
        base.commit_change(repo, 'toy/core.py', 'def answer():\n    pass\n',
                           'Change the answer', 'I' + 'c' * 40)
        patched_head = repo.head()
        side = table.Side(self.release, repo.path, '/nonexistent', True)
        with table.upstream_checkout({'toy': side}, keep=('toy',)):
            self.assertEqual(patched_head, repo.head())

    def test_unpatched_tree_is_not_touched(self):
        repo = self.make_tree()
        side = table.Side(self.release, repo.path, '/nonexistent', False)
        with table.upstream_checkout({'toy': side}):
            self.assertEqual('patch-queue/toy-1.0', repo.branch())


class TestRunTable(base.TestCase):

    def test_without_projects_runs_glance_rows_on_fake_and_says_so(self):
        text, failures, skipped = table.run_table({}, self.tmp)
        self.assertEqual(0, failures, text)
        self.assertIn('-- before: upstream releases', text)
        # Nothing is patched: "after" would run the same code again.
        self.assertIn('-- after: series applied: not run again, the code '
                      'is that of "before: upstream releases"', text)
        self.assertEqual(len(scenarios.GLANCE_ROWS), text.count(' ok\n') +
                         text.endswith(' ok'), text)
        self.assertEqual(len(scenarios.CLIENT_ROWS) + 1, len(skipped))
        self.assertIn('real Glance column (not run: glance was not '
                      'verified)', skipped)


class TestPhases(base.TestCase):

    def sides(self, **patched):
        return dict((name, table.Side(None, '/nonexistent', '/nonexistent',
                                      applied))
                    for name, applied in patched.items())

    def test_glance_alone_runs_marked_rows_with_only_glance_patched(self):
        rows = scenarios.GLANCE_ROWS
        phases = table._phases(self.sides(glance=True, nova=True), rows)
        self.assertEqual(3, len(phases))
        title, keep, alone = phases[2]
        self.assertEqual(table.GLANCE_ALONE, title)
        self.assertEqual(('glance',), keep)
        self.assertEqual([r for r in rows if r.glance_alone], alone)
        self.assertTrue(alone)
        self.assertEqual(('glance', 'nova'), phases[1][1])
        self.assertEqual((), phases[0][1])

    def test_no_glance_alone_pass_without_a_patched_glance_and_others(self):
        rows = scenarios.GLANCE_ROWS
        for sides in (self.sides(glance=True), self.sides(nova=True),
                      self.sides(glance=False, nova=True)):
            self.assertEqual(2, len(table._phases(sides, rows)), sides)


class TestRunClient(base.TestCase):

    def test_garbage_output_is_an_error_with_stderr(self):
        script = os.path.join(self.tmp, 'python')
        with open(script, 'w') as f:
            f.write('#!/bin/sh\necho not json; echo boom >&2; exit 3\n')
        os.chmod(script, 0o755)
        answer = clients.run_client(script, 'nova', {})
        self.assertIn('the nova driver failed (exit 3)', answer['error'])
        self.assertIn('boom', answer['error'])

    def test_driver_timeout_is_an_error(self):
        script = os.path.join(self.tmp, 'python')
        with open(script, 'w') as f:
            f.write('#!/bin/sh\nexec sleep 30\n')
        os.chmod(script, 0o755)
        answer = clients.run_client(script, 'cinder', {}, timeout=1)
        self.assertIn('did not finish within 1s', answer['error'])

    def test_driver_answer_is_read_from_its_last_line(self):
        answer = clients.run_client(sys.executable, 'nova', {})
        # Our interpreter has no nova: the driver fails, and says why.
        self.assertIn('nova', answer['error'])


class TestRealGlanceLauncher(base.TestCase):

    def test_missing_gunicorn_is_a_clear_error(self):
        os.makedirs(os.path.join(self.tmp, 'bin'))
        open(os.path.join(self.tmp, 'bin', 'glance-manage'), 'w').close()
        server = realglance.RealGlance(os.path.join(self.tmp, 'bin'),
                                       os.path.join(self.tmp, 'root'))
        exc = self.assertRaises(exceptions.PatchSeriesError, server.start)
        self.assertIn('has no gunicorn', str(exc))
        self.assertIsNone(server.proc)


class TestRealGlancePolicy(base.TestCase):

    def setUp(self):
        super().setUp()
        bin_dir = os.path.join(self.tmp, 'bin')
        os.makedirs(bin_dir)
        # Stands in for the Glance environment's python: Glance's defaults.
        with open(os.path.join(bin_dir, 'python'), 'w') as f:
            f.write('#!/bin/sh\necho \'{"colocate_image": "role:member",'
                    ' "upload_image": "role:member"}\'\n')
        os.chmod(os.path.join(bin_dir, 'python'), 0o755)
        self.server = realglance.RealGlance(bin_dir,
                                            os.path.join(self.tmp, 'root'))

    def written(self):
        with open(self.server.policy_path) as f:
            return json.load(f)

    def test_restoring_writes_the_default_glance_would_merge_over(self):
        self.server.set_policy({'colocate_image': '!'})
        self.assertEqual({'colocate_image': '!'}, self.written())
        before = os.stat(self.server.policy_path).st_mtime
        self.server.set_policy({})
        # Glance merges files (overwrite=False): an empty file would
        # leave "!" in force.
        self.assertEqual({'colocate_image': 'role:member'}, self.written())
        self.assertGreater(os.stat(self.server.policy_path).st_mtime, before)
        self.server.set_policy({})
        self.assertEqual({}, self.written())

    def test_rule_glance_does_not_define_is_dropped(self):
        self.server.set_policy({'no_such_rule': '!'})
        self.server.set_policy({})
        self.assertEqual({}, self.written())


class TestColumns(base.TestCase):

    def test_fake_and_real_columns_run_at_the_same_time(self):
        both = threading.Barrier(2, timeout=10)
        seen = {}

        def fake(state, rows, envs):
            both.wait()
            seen['fake'] = threading.current_thread().name
            return {'r': {'outcome': 'fake'}}

        def real(rows, envs, glance_side, work_dir):
            both.wait()
            seen['real'] = threading.current_thread().name
            return {'r': {'outcome': 'real'}}

        self.useFixture(fixtures.MockPatchObject(table, '_fake_column',
                                                 fake))
        self.useFixture(fixtures.MockPatchObject(table, '_real_column',
                                                 real))
        side = table.Side(None, '/nonexistent', '/nonexistent', False)
        columns = table._columns({}, [], {}, side, self.tmp)
        self.assertEqual(['fake', 'real'], [title for title, _ in columns])
        self.assertEqual({'r': {'outcome': 'real'}}, columns[1][1])
        self.assertNotEqual(seen['fake'], seen['real'])
        # Serial, the barrier would never have let the first one through.

    def test_without_a_glance_side_only_the_fake_column_runs(self):
        self.useFixture(fixtures.MockPatchObject(
            table, '_fake_column', lambda state, rows, envs: {}))
        columns = table._columns({}, [], {}, None, self.tmp)
        self.assertEqual([('fake', {})], columns)

    def test_run_table_passes_its_release_to_the_expectations(self):
        calls = []
        real_format = scenarios.format_table

        def format_table(columns, state, rows, release=None):
            calls.append(release)
            return real_format(columns, state, rows, release=release)

        self.useFixture(fixtures.MockPatchObject(
            table.scenarios, 'format_table', format_table))
        self.useFixture(fixtures.MockPatchObject(
            table, '_columns',
            lambda state, rows, envs, glance_side, work_dir, concurrent:
            [('fake', dict((r.name, {'outcome': r.expected(state)})
                           for r in rows))]))
        text, failures, _skipped = table.run_table({}, self.tmp,
                                                   release='2025.1')
        # Nothing patched: "after" is the same code, not run again.
        self.assertEqual(['2025.1'], calls)

    def test_every_pass_runs_when_series_are_applied(self):
        import contextlib
        states = []

        def columns(state, rows, envs, glance_side, work_dir, concurrent):
            states.append(dict(state))
            return [('fake', dict((r.name, {'outcome': r.expected(state)})
                                  for r in rows))]

        self.useFixture(fixtures.MockPatchObject(table, '_columns', columns))
        self.useFixture(fixtures.MockPatchObject(
            table, 'upstream_checkout',
            lambda sides, keep=(): contextlib.nullcontext()))
        sides = dict((name, table.Side(None, '/nonexistent', '/nonexistent',
                                       True)) for name in ('glance', 'nova'))
        text, _failures, _skipped = table.run_table(sides, self.tmp)
        self.assertEqual([{'glance': False, 'nova': False},
                          {'glance': True, 'nova': True},
                          {'glance': True, 'nova': False}], states)
        self.assertNotIn('not run again', text)


class TestWsgiApp(base.TestCase):

    def server(self, has_module):
        bin_dir = os.path.join(self.tmp, 'bin')
        os.makedirs(bin_dir, exist_ok=True)
        with open(os.path.join(bin_dir, 'python'), 'w') as f:
            f.write('#!/bin/sh\necho %s\n' % has_module)
        os.chmod(os.path.join(bin_dir, 'python'), 0o755)
        return realglance.RealGlance(bin_dir, os.path.join(self.tmp, 'r'))

    def test_glance_with_the_wsgi_module_serves_it(self):
        self.assertEqual('glance.wsgi.api:application',
                         self.server('True').wsgi_app())

    def test_glance_28_serves_the_application_factory(self):
        self.assertEqual('glance.common.wsgi_app:init_app()',
                         self.server('False').wsgi_app())

    def test_paste_file_is_in_the_config_folder(self):
        server = self.server('True')
        server.url = 'http://127.0.0.1:1'
        with open(os.path.join(self.tmp, 'bin', 'python'), 'w') as f:
            f.write('#!/bin/sh\necho {}\n')
        conf_dir = server._write_config()
        self.assertTrue(os.path.exists(
            os.path.join(conf_dir, 'glance-api-paste.ini')))
        with open(os.path.join(conf_dir, 'glance-api.conf')) as f:
            self.assertIn('config_file = %s' % os.path.join(
                conf_dir, 'glance-api-paste.ini'), f.read())


class TestParallelStoresGlance(base.TestCase):
    """The direct copy rows run on a Glance of their own."""

    def rows(self):
        return [scenarios.GLANCE_ROWS[0], scenarios.DIRECT_COPY_ROWS[0]]

    def record_run_rows(self):
        runs = []

        def run_rows(glance, rows, envs=None):
            runs.append((glance.name, glance.parallel_stores,
                         [row.name for row in rows], glance))
            return dict((row.name, {'outcome': glance.name})
                        for row in rows)

        self.useFixture(fixtures.MockPatchObject(table.scenarios,
                                                 'run_rows', run_rows))
        return runs

    def test_real_column_starts_a_glance_per_max_parallel_stores(self):
        import contextlib
        runs = self.record_run_rows()
        started = []

        class Server(object):
            url = 'http://127.0.0.1:1'
            set_policy = None

            def store_dir(self, store):
                return '/srv/' + store

            def direct_copies(self, image_id):
                return []

        @contextlib.contextmanager
        def serving(bin_dir, work_dir, **options):
            started.append(options)
            yield Server()

        self.useFixture(fixtures.MockPatchObject(table.realglance,
                                                 'serving', serving))
        side = table.Side(None, '/nonexistent', '/bin-dir', True)
        results = table._real_column(self.rows(), {}, side, self.tmp)
        self.assertEqual([{}, {'parallel_stores': 3}], started)
        self.assertEqual([(1, [self.rows()[0].name]),
                          (3, [self.rows()[1].name])],
                         [(r[1], r[2]) for r in runs])
        self.assertEqual('/srv/staging', runs[1][3].staging_dir)
        self.assertEqual(2, len(results))

    def test_fake_column_models_the_release_s_copy(self):
        runs = self.record_run_rows()
        made = []
        real_fixture = table.fake_fixture.FakeGlanceFixture

        def fake_fixture(**kwargs):
            made.append((kwargs['parallel_stores'], kwargs['direct_copy']))
            return real_fixture(**kwargs)

        self.useFixture(fixtures.MockPatchObject(
            table.fake_fixture, 'FakeGlanceFixture', fake_fixture))
        table._fake_column({'glance': True}, self.rows(), {})
        table._fake_column({'glance': scenarios.Partial(['direct_copy'])},
                           self.rows(), {})
        self.assertEqual([(1, True), (3, True), (1, False), (3, False)],
                         made)
        self.assertEqual([1, 3, 1, 3], [r[1] for r in runs])
        self.assertIsNotNone(runs[1][3].direct_copies)


class TestDirectCopyLog(base.TestCase):

    def test_direct_copies_are_read_from_glance_s_log(self):
        server = realglance.RealGlance('/nonexistent', self.tmp)
        self.assertEqual([], server.direct_copies('x'))
        image = '0b5a7e2c-4c1e-4a8e-9a43-5d0f7f5b1d3e'
        other = '1c6b8f3d-5d2f-4b9f-8b54-6e1a8a6c2e4f'
        with open(server.glance_log_path, 'w') as f:
            for line in (
                    'INFO glance.async_.flows._internal_plugins.copy_image '
                    '[req-1] Copying image %s directly to stores '
                    'store2,store3, 3 at a time' % image,
                    'INFO ... Copying image %s directly to stores store2, '
                    '3 at a time' % other,
                    'INFO ... Copied image %s to stores store2,store3; '
                    'failed: (none)' % image,
                    'INFO ... Copying image %s directly to stores store1, '
                    '3 at a time' % image):
                f.write(line + '\n')
        self.assertEqual([['store2', 'store3'], ['store1']],
                         server.direct_copies(image))
        self.assertEqual([['store2']], server.direct_copies(other))

    def test_max_parallel_stores_goes_into_the_config(self):
        bin_dir = os.path.join(self.tmp, 'bin')
        os.makedirs(bin_dir)
        with open(os.path.join(bin_dir, 'python'), 'w') as f:
            f.write('#!/bin/sh\necho {}\n')
        os.chmod(os.path.join(bin_dir, 'python'), 0o755)
        for parallel, expected in ((3, True), (None, False)):
            server = realglance.RealGlance(
                bin_dir, os.path.join(self.tmp, str(parallel)),
                parallel_stores=parallel)
            server.url = 'http://127.0.0.1:1'
            conf_dir = server._write_config()
            with open(os.path.join(conf_dir, 'glance-api.conf')) as f:
                text = f.read()
            self.assertEqual(expected, '[image_import_opts]\n'
                             'max_parallel_stores = 3\n' in text, text)
