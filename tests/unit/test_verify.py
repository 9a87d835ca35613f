import json
import os
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
