import json
import os
import time
from unittest import mock

from patchseries import main
from patchseries import testrun
from patchseries import verify
from tests.unit import test_pq

ALL_PASS = {'toy.tests.test_a.T.test_1': 'success',
            'toy.tests.test_a.T.test_2': 'success'}


class VerifyTestCase(test_pq.PqTestCase):

    def setUp(self):
        super().setUp()
        self.target.tests = self.release.tests = (('toy.tests.test_a', None),)
        self.target.test_path = './toy/tests'
        self.useFixture(base_fixture(verify.target_mod, 'load_target',
                                     lambda project: self.target))
        self.env = self.useFixture(base_fixture(verify.venv_mod, 'TestEnv'))
        self.env.mock.return_value.bin_dir = '/nonexistent/bin'
        self.env.mock.return_value.notes = []
        self.env.mock.return_value.key.return_value = 'env-key-1'
        # A cached environment, reused.
        self.env.mock.return_value.ensure.return_value = False
        self.runs = self.useFixture(base_fixture(verify.testrun,
                                                 'run_selection'))

    def results(self, *statuses):
        self.runs.mock.side_effect = [testrun.Results(s) for s in statuses]

    def verify(self):
        return verify.verify_project('toy', self.cache)


def base_fixture(module, name, new=mock.DEFAULT):
    import fixtures
    if new is mock.DEFAULT:
        return fixtures.MockPatchObject(module, name)
    return fixtures.MockPatchObject(module, name, new)


class TestVerifyProject(VerifyTestCase):

    def test_empty_series_is_the_upstream_baseline(self):
        self.results(ALL_PASS)
        report = self.verify()
        self.assertTrue(report.ok, report.error)
        self.assertIsNone(report.patched)
        self.assertEqual(1, self.runs.mock.call_count)
        self.assertIn('the series is empty', ' '.join(report.notes))
        self.assertEqual(['tree', 'venv', 'unpatched'], list(report.steps))

    def test_series_is_applied_then_run_again(self):
        self.make_series()
        patched = dict(ALL_PASS, **{'toy.tests.test_a.T.test_new': 'success'})
        self.results(ALL_PASS, patched)
        report = self.verify()
        self.assertTrue(report.ok, report.error)
        self.assertEqual(['0001-Fix-the-answer.patch',
                          '0002-Rename-the-toy.patch'],
                         [p.name for p in report.patches])
        self.assertEqual(['toy.tests.test_a.T.test_new'], report.new_tests)
        tree_path = os.path.join(self.cache, 'trees', 'toy-1.0')
        with open(os.path.join(tree_path, 'toy', 'core.py')) as f:
            self.assertIn('return 42', f.read())
        # The environment is refreshed after the series changed the tree.
        self.assertEqual(2, self.env.mock.return_value.install_tree.call_count)

    def test_prepare_only_applies_and_installs_without_tests(self):
        self.make_series()
        report = verify.verify_project('toy', self.cache, run_tests=False)
        self.assertIsNone(report.error)
        self.assertEqual(0, self.runs.mock.call_count)
        self.assertTrue(report.side.patched)
        self.assertEqual(['tree', 'venv', 'apply'], list(report.steps))
        tree_path = os.path.join(self.cache, 'trees', 'toy-1.0')
        with open(os.path.join(tree_path, 'toy', 'core.py')) as f:
            self.assertIn('return 42', f.read())
        self.assertEqual(2, self.env.mock.return_value.install_tree.call_count)

    def test_new_environment_is_not_installed_twice(self):
        self.make_series()
        self.env.mock.return_value.ensure.return_value = True
        self.results(ALL_PASS, ALL_PASS)
        self.assertTrue(self.verify().ok)
        # Only after the series changed the tree.
        self.assertEqual(1, self.env.mock.return_value.install_tree.call_count)

    def test_regression_fails_the_series(self):
        self.make_series()
        self.results(ALL_PASS, {'toy.tests.test_a.T.test_1': 'success',
                                'toy.tests.test_a.T.test_2': 'fail'})
        report = self.verify()
        self.assertFalse(report.ok)
        self.assertEqual(['toy.tests.test_a.T.test_2'], report.regressions)
        text = verify.format_report([report])
        self.assertIn('REGRESSION toy.tests.test_a.T.test_2', text)
        self.assertIn('FAILED toy.tests.test_a.T.test_2', text)

    def test_vanished_test_is_a_regression(self):
        self.make_series()
        self.results(ALL_PASS, {'toy.tests.test_a.T.test_1': 'success'})
        report = self.verify()
        self.assertFalse(report.ok)
        self.assertEqual(['toy.tests.test_a.T.test_2'], report.regressions)

    def test_baseline_failure_fails_verify(self):
        self.results({'toy.tests.test_a.T.test_1': 'fail'})
        report = self.verify()
        self.assertFalse(report.ok)
        self.assertIn('FAILED', verify.format_report([report]))

    def test_conflicting_series_is_reported_not_raised(self):
        self.make_series()
        with open(os.path.join(self.series.path,
                               '0001-Fix-the-answer.patch')) as f:
            text = f.read()
        with open(os.path.join(self.series.path,
                               '0001-Fix-the-answer.patch'), 'w') as f:
            f.write(text.replace('-    return 41', '-    return 40'))
        self.results(ALL_PASS)
        report = self.verify()
        self.assertFalse(report.ok)
        self.assertIn('0001-Fix-the-answer.patch does not apply',
                      report.error)

    def test_missing_command_names_its_package(self):
        self.target.required_commands = {'no-such-command-x': 'pkg-x'}
        report = self.verify()
        self.assertFalse(report.ok)
        self.assertIn('no-such-command-x', report.error)
        self.assertIn('apt-get install pkg-x', report.error)
        self.runs.mock.assert_not_called()


class TestFunctionalSelection(VerifyTestCase):
    """Functional tests run apart, from their own test path."""

    def setUp(self):
        super().setUp()
        self.target.functional_test_path = './toy/functional'
        self.release.functional_series_tests = (
            ('toy.functional.test_new', None),)

    def test_series_functional_tests_run_patched_only_and_merge(self):
        self.make_series()
        functional = {'toy.functional.test_new.T.test_1': 'success'}
        self.results(ALL_PASS, ALL_PASS, functional)
        report = self.verify()
        self.assertTrue(report.ok, report.error)
        paths = [c[0][2] for c in self.runs.mock.call_args_list]
        self.assertEqual(['./toy/tests', './toy/tests', './toy/functional'],
                         paths)
        self.assertEqual(3, report.patched.run)
        self.assertEqual(['toy.functional.test_new.T.test_1'],
                         report.new_tests)
        labels = [c[0][5] for c in self.runs.mock.call_args_list]
        self.assertEqual('toy-1.0 patched functional', labels[-1])

    def test_upstream_functional_tests_run_on_both_sides(self):
        self.make_series()
        self.release.functional_tests = (('toy.functional.test_old', None),)
        old = {'toy.functional.test_old.T.test_1': 'success'}
        self.results(ALL_PASS, old, ALL_PASS, old)
        report = self.verify()
        self.assertTrue(report.ok, report.error)
        self.assertEqual(3, report.unpatched.run)
        self.assertEqual(4, self.runs.mock.call_count)

    def test_functional_selection_changes_the_baseline_key(self):
        self.results(ALL_PASS, ALL_PASS)
        self.verify()
        self.release.functional_tests = (('toy.functional.test_old', None),)
        self.results(ALL_PASS, {'toy.functional.test_old.T.t': 'success'})
        self.assertFalse(self.verify().baseline_reused)


class TestBaselineReuse(VerifyTestCase):

    def test_clean_baseline_is_reused_with_a_note(self):
        self.results(ALL_PASS)
        first = self.verify()
        self.assertFalse(first.baseline_reused)
        self.runs.mock.reset_mock()
        second = self.verify()
        self.runs.mock.assert_not_called()
        self.assertTrue(second.ok, second.error)
        self.assertTrue(second.baseline_reused)
        self.assertEqual(ALL_PASS, second.unpatched.statuses)
        self.assertNotIn('unpatched', second.steps)
        self.assertIn('unpatched baseline reused', ' '.join(second.notes))
        self.assertIn('(reused)', verify.format_report([second]))

    def test_patched_run_still_runs_after_a_reused_baseline(self):
        self.make_series()
        self.results(ALL_PASS, ALL_PASS)
        self.verify()
        broken = dict(ALL_PASS, **{'toy.tests.test_a.T.test_2': 'fail'})
        self.runs.mock.reset_mock()
        self.results(broken)
        report = self.verify()
        self.assertTrue(report.baseline_reused)
        self.assertEqual(1, self.runs.mock.call_count)
        self.assertEqual(['toy.tests.test_a.T.test_2'], report.regressions)

    def test_failing_baseline_is_not_kept(self):
        failing = {'toy.tests.test_a.T.test_1': 'fail'}
        self.results(failing, ALL_PASS)
        self.verify()
        second = self.verify()
        self.assertFalse(second.baseline_reused)
        self.assertEqual(2, self.runs.mock.call_count)

    def test_other_environment_key_runs_again(self):
        self.results(ALL_PASS, ALL_PASS)
        self.verify()
        self.env.mock.return_value.key.return_value = 'env-key-2'
        self.assertFalse(self.verify().baseline_reused)
        self.assertEqual(2, self.runs.mock.call_count)

    def test_other_selection_runs_again(self):
        self.results(ALL_PASS, ALL_PASS)
        self.verify()
        self.release.tests += (('toy.tests.test_b', None),)
        self.assertFalse(self.verify().baseline_reused)

    def test_fresh_and_rerun_baseline_run_again(self):
        self.results(ALL_PASS, ALL_PASS, ALL_PASS)
        self.verify()
        self.assertFalse(verify.verify_project(
            'toy', self.cache, fresh=True).baseline_reused)
        self.assertFalse(verify.verify_project(
            'toy', self.cache, reuse_baseline=False).baseline_reused)
        self.assertEqual(3, self.runs.mock.call_count)

    def test_unreadable_record_is_ignored(self):
        self.results(ALL_PASS, ALL_PASS)
        self.verify()
        folder = os.path.join(self.cache, 'baselines')
        (record,) = [n for n in os.listdir(folder) if n.endswith('.json')]
        with open(os.path.join(folder, record), 'w') as f:
            f.write('{"statuses": ')
        self.assertFalse(self.verify().baseline_reused)
        self.assertEqual(2, self.runs.mock.call_count)


class TestVerifyCommand(VerifyTestCase):

    def test_exit_code_and_json_report(self):
        self.results(ALL_PASS)
        report_path = os.path.join(self.tmp, 'report.json')
        with mock.patch.object(verify.target_mod, 'PROJECTS', ('toy',)):
            code = main.main(['verify', '--cache-dir', self.cache,
                              '--report', report_path, '--no-table', 'toy'])
        self.assertEqual(0, code)
        with open(report_path) as f:
            data = json.load(f)
        self.assertIsNone(data['scenarios'])
        project = data['projects'][0]
        self.assertEqual('toy', project['project'])
        self.assertEqual(2, project['unpatched']['passed'])
        self.assertTrue(project['ok'])

    def test_failed_scenario_row_fails_verify(self):
        self.results(ALL_PASS)
        table = self.useFixture(base_fixture(verify.table_mod, 'run_table'))
        table.mock.return_value = ('row  x  ok\nrow  y  FAILED', 1, [])
        report_path = os.path.join(self.tmp, 'report.json')
        with mock.patch.object(verify.target_mod, 'PROJECTS', ('toy',)):
            code = main.main(['verify', '--cache-dir', self.cache,
                              '--report', report_path, 'toy'])
        self.assertEqual(1, code)
        sides = table.mock.call_args[0][0]
        self.assertEqual(['toy'], list(sides))
        self.assertFalse(sides['toy'].patched)
        with open(report_path) as f:
            scenarios = json.load(f)['scenarios']
        self.assertEqual((2, 1), (scenarios['rows'], scenarios['failed']))

    def test_unknown_project_exits_2(self):
        code = main.main(['verify', '--cache-dir', self.cache, 'keystone'])
        self.assertEqual(2, code)


class MultiReleaseTestCase(VerifyTestCase):
    """The toy in two releases: 2026.2 -> toy 1.0, 2025.1 -> toy 0.9."""

    def setUp(self):
        super().setUp()
        from tests import base
        path, sha = base.make_sdist(self.tmp, 'toy', '0.9', base.TOY_FILES)
        self.index.publish(path, 'toy', sha)
        self.target = base.make_target(
            os.path.join(self.tmp, 'toy_patch'),
            {'2026.2': (self.release.version, self.release.sha256),
             '2025.1': ('0.9', sha)})
        for release in self.target.releases.values():
            release.tests = (('toy.tests.test_a', None),)
        self.target.test_path = './toy/tests'
        self.useFixture(base_fixture(verify.target_mod, 'PROJECTS',
                                     ('toy',)))

    def run_verify(self, *args):
        report_path = os.path.join(self.tmp, 'report.json')
        code = main.main(['verify', '--cache-dir', self.cache,
                          '--report', report_path] + list(args))
        with open(report_path) as f:
            return code, json.load(f)


class TestEveryRelease(MultiReleaseTestCase):

    def test_without_release_every_release_is_verified_newest_first(self):
        self.results(ALL_PASS, ALL_PASS)
        code, data = self.run_verify('--no-table', 'toy')
        self.assertEqual(0, code)
        self.assertEqual([('toy', '2026.2', '1.0'), ('toy', '2025.1', '0.9')],
                         [(p['project'], p['release'], p['version'])
                          for p in data['projects']])
        self.assertTrue(all(p['ok'] for p in data['projects']))
        labels = [c[0][5] for c in self.runs.mock.call_args_list]
        self.assertEqual(['toy-1.0 unpatched', 'toy-0.9 unpatched'], labels)
        for version in ('1.0', '0.9'):
            self.assertTrue(os.path.isdir(
                os.path.join(self.cache, 'trees', 'toy-%s' % version)))

    def test_release_option_narrows_and_repeats(self):
        for args, wanted in (
                (['--release', '2025.1'], ['2025.1']),
                (['--release', '2025.1,2026.2'], ['2026.2', '2025.1']),
                (['--release', '0.9', '--release', '2026.2'],
                 ['2026.2', '2025.1'])):
            self.results(ALL_PASS, ALL_PASS)
            code, data = self.run_verify('--no-table', 'toy', *args)
            self.assertEqual(0, code, args)
            self.assertEqual(wanted, [p['release'] for p in data['projects']])

    def test_unknown_release_exits_2_naming_the_known_ones(self):
        code = main.main(['verify', '--cache-dir', self.cache, '--no-table',
                          '--release', '2023.1', 'toy'])
        self.assertEqual(2, code)
        self.runs.mock.assert_not_called()

    def test_missing_constraints_file_is_an_error_of_its_pair(self):
        missing = os.path.join(self.tmp, 'toy_patch', 'constraints',
                               '2025.1.txt')
        self.target.releases['2025.1'].constraints = missing
        self.results(ALL_PASS)
        code, data = self.run_verify('--no-table', 'toy')
        self.assertEqual(1, code)
        new, old = data['projects']
        self.assertTrue(new['ok'])
        self.assertFalse(old['ok'])
        self.assertIn(missing, old['error'])
        self.assertIn('does not exist', old['error'])
        self.assertIsNone(old['unpatched'])
        self.assertEqual(1, self.runs.mock.call_count)

    def test_report_shows_every_pair_and_a_total(self):
        self.results(ALL_PASS, ALL_PASS, ALL_PASS)
        reports = verify.verify_pairs([('toy', '2026.2'), ('toy', '2025.1')],
                                      self.cache)
        text = verify.format_report(reports)
        self.assertIn('2026.2 (1.0)', text)
        self.assertIn('2025.1 (0.9)', text)
        total = [line for line in text.splitlines()
                 if line.startswith('total')]
        self.assertEqual(1, len(total), text)
        self.assertIn('2 pairs', total[0])
        self.assertIn('4/4/0/0', total[0])
        # Second run: both baselines reused, and the table says so.
        self.runs.mock.reset_mock()
        reports = verify.verify_pairs([('toy', '2026.2'), ('toy', '2025.1')],
                                      self.cache)
        self.runs.mock.assert_not_called()
        text = verify.format_report(reports)
        self.assertEqual(2, text.count('(reused)'), text)

    def test_prepared_ahead_or_not_the_reports_are_the_same(self):
        self.make_series()
        patched = dict(ALL_PASS, **{'toy.tests.test_a.T.test_new': 'success'})
        results = []
        for ahead in (True, False):
            self.results(ALL_PASS, patched, ALL_PASS)
            reports = verify.verify_pairs(
                [('toy', '2026.2'), ('toy', '2025.1')], self.cache,
                reuse_baseline=False, prepare_ahead=ahead)
            results.append([(r.release, r.ok, r.new_tests,
                             [p.name for p in r.patches], list(r.steps))
                            for r in reports])
        self.assertEqual(results[0], results[1])
        self.assertEqual(
            ('2026.2', True, ['toy.tests.test_a.T.test_new'],
             ['0001-Fix-the-answer.patch', '0002-Rename-the-toy.patch'],
             ['tree', 'venv', 'unpatched', 'apply', 'patched']),
            results[0][0])
        # 2025.1's series is empty.
        self.assertEqual(('2025.1', True, [], [],
                          ['tree', 'venv', 'unpatched']), results[0][1])

    def test_a_failed_preparation_does_not_stop_the_next_pair(self):
        self.env.mock.return_value.ensure.side_effect = [
            verify.exceptions.VenvError('uv exploded'), False]
        self.results(ALL_PASS)
        reports = verify.verify_pairs([('toy', '2026.2'), ('toy', '2025.1')],
                                      self.cache)
        self.assertEqual('uv exploded', reports[0].error)
        self.assertTrue(reports[1].ok, reports[1].error)


class TestTablePerRelease(MultiReleaseTestCase):

    def test_one_table_per_release_with_that_release_s_sides(self):
        self.results(ALL_PASS, ALL_PASS)
        table = self.useFixture(base_fixture(verify.table_mod, 'run_table'))
        table.mock.side_effect = [
            ('row  a  ok\nrow  b  ok', 0, []),
            ('row  a  ok\nrow  b  FAILED\nrow  c  ok', 1, ['row d (x)'])]
        code, data = self.run_verify('toy')
        self.assertEqual(1, code)
        calls = table.mock.call_args_list
        self.assertEqual(['2026.2', '2025.1'],
                         [c[1]['release'] for c in calls])
        self.assertEqual(['1.0', '0.9'],
                         [c[0][0]['toy'].release.version for c in calls])
        scenarios = data['scenarios']
        self.assertEqual((5, 1), (scenarios['rows'], scenarios['failed']))
        self.assertEqual(
            [('2026.2', 2, 0), ('2025.1', 3, 1)],
            [(r['release'], r['rows'], r['failed'])
             for r in scenarios['releases']])
        self.assertEqual(['2025.1: row d (x)'], scenarios['skipped'])
        self.assertIn('=== release 2025.1 (toy 0.9): 3 rows, 1 failed',
                      scenarios['text'])
        self.assertIn('=== total: 2 releases, 5 rows, 1 failed ===',
                      scenarios['text'])

    def test_a_failed_pair_leaves_its_project_out_of_its_table(self):
        self.target.releases['2025.1'].constraints = os.path.join(
            self.tmp, 'nope.txt')
        self.results(ALL_PASS)
        table = self.useFixture(base_fixture(verify.table_mod, 'run_table'))
        table.mock.return_value = ('', 0, [])
        self.run_verify('toy')
        sides = [c[0][0] for c in table.mock.call_args_list]
        self.assertEqual([['toy'], []], [list(s) for s in sides])

    def test_a_release_s_table_starts_once_its_pairs_are_done(self):
        events = []
        table = self.useFixture(base_fixture(verify.table_mod, 'run_table'))

        def run_table(sides, cache_dir, release=None):
            events.append('table %s' % release)
            return ('row  a  ok', 0, [])

        def run_selection(bin_dir, tree, path, tests, env, label, log,
                          **kwargs):
            events.append('tests %s' % label)
            if label.startswith('toy-0.9'):
                # The 2026.2 table runs beside these tests.
                for _ in range(100):
                    if 'table 2026.2' in events:
                        break
                    time.sleep(0.05)
                events.append('2026.2 table seen: %s'
                              % ('table 2026.2' in events))
            return testrun.Results(ALL_PASS)

        table.mock.side_effect = run_table
        self.runs.mock.side_effect = run_selection
        code, data = self.run_verify('toy')
        self.assertEqual(0, code)
        self.assertEqual('tests toy-1.0 unpatched', events[0])
        self.assertLess(events.index('table 2026.2'),
                        events.index('table 2025.1'))
        self.assertIn('2026.2 table seen: True', events)
        self.assertEqual(['2026.2', '2025.1'],
                         [r['release'] for r in data['scenarios']['releases']])
