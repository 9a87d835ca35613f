import os
import sys
import types
from unittest import mock

import ddt

from patchseries import commits
from patchseries import main
from patchseries import pq
from patchseries import target as target_mod
from tests import base
from tests.unit import test_pq
from tests.unit import test_verify

CHANGE_C = 'I' + 'c' * 40

# A test that needs the answer of 42, which the series' next commit
# brings: it fails at its own commit.
EARLY_TEST = ('from toy import core\n'
              'import unittest\n\n\n'
              'class T(unittest.TestCase):\n'
              '    def test_answer(self):\n'
              '        self.assertEqual(42, core.answer())\n')
# A test that holds at every commit.
SOUND_TEST = ('from toy import other\n'
              'import unittest\n\n\n'
              'class T(unittest.TestCase):\n'
              '    def test_name(self):\n'
              '        self.assertTrue(other.NAME)\n')


def _release(tests=(), series_tests=(), functional=(),
             functional_path=None):
    data = types.SimpleNamespace(
        PYPI_NAME='toy', TEST_PATH='./toy/tests', TESTS=tests,
        SERIES_TESTS=series_tests, FUNCTIONAL_TEST_PATH=functional_path,
        FUNCTIONAL_TESTS=functional,
        RELEASES={'2026.2': {'version': '1.0', 'sha256': 'a' * 64}})
    return target_mod.Target('toy', data, '/nonexistent').release()


@ddt.ddt
class TestSelectionFor(base.TestCase):

    def setUp(self):
        super().setUp()
        self.release = _release(
            tests=(('toy.tests.unit', None),
                   ('toy.tests.unit.test_api', 'image')),
            series_tests=(('toy.tests.unit2.test_new', None),),
            functional=(('toy.tests.functional.test_f', 'Snap'),),
            functional_path='./toy/tests/functional')

    @ddt.data(
        ('toy.tests.unit.test_x', ('', './toy/tests', None)),
        # The closest name wins: its narrowing regex holds.
        ('toy.tests.unit.test_api', ('', './toy/tests', 'image')),
        ('toy.tests.unit2.test_new', ('', './toy/tests', None)),
        ('toy.tests.functional.test_f',
         ('functional', './toy/tests/functional', 'Snap')),
        ('toy.tests.unit_other.test_x', None),
        ('toy.tests.test_top', None),
    )
    @ddt.unpack
    def test_where_a_module_runs(self, module, expected):
        self.assertEqual(expected, self.release.selection_for(module))

    def test_plan_groups_by_selection_and_names_the_unselected(self):
        modules, unselected, runs = commits.plan(self.release, [
            'toy/core.py',
            'toy/tests/unit/test_api.py',
            'toy/tests/functional/test_f.py',
            'toy/tests/test_top.py',
            'toy/tests/unit/fixtures.py',
        ])
        self.assertEqual(['toy.tests.functional.test_f',
                          'toy.tests.test_top',
                          'toy.tests.unit.test_api'], modules)
        self.assertEqual(['toy.tests.test_top'], unselected)
        self.assertEqual([
            ('', './toy/tests', (('toy.tests.unit.test_api', 'image'),)),
            ('functional', './toy/tests/functional',
             (('toy.tests.functional.test_f', 'Snap'),)),
        ], runs)

    def test_a_commit_without_test_modules_runs_nothing(self):
        self.assertEqual(([], [], []),
                         commits.plan(self.release, ['toy/core.py']))


class TestCheckCommits(test_pq.PqTestCase):
    """Real stestr runs of a toy series, one commit at a time."""

    def setUp(self):
        super().setUp()
        self.target.tests = self.release.tests = (('toy.tests', None),)
        self.target.test_path = './toy/tests'
        self.useFixture(test_verify.base_fixture(
            commits.verify_mod.target_mod, 'load_target',
            lambda project: self.target))
        env = self.useFixture(test_verify.base_fixture(
            commits.verify_mod.venv_mod, 'TestEnv')).mock.return_value
        # Our own environment has stestr; the toy needs nothing else.
        env.bin_dir = os.path.dirname(sys.executable)
        env.notes = []
        env.ensure.return_value = False
        self.env = env

    def export(self, changes):
        repo = self.make_tree('work')
        for path, text, subject, change in changes:
            os.makedirs(os.path.dirname(os.path.join(repo.path, path)),
                        exist_ok=True)
            base.commit_change(repo, path, text, subject, change)
        pq.export_series(repo, 'upstream/toy-1.0', self.series.path)

    def test_a_commit_that_needs_a_later_one_fails(self):
        self.export([
            ('toy/tests/__init__.py', '', 'Add the tests package',
             test_pq.CHANGE_A),
            ('toy/tests/test_early.py', EARLY_TEST, 'Test the answer',
             test_pq.CHANGE_B),
            ('toy/core.py', 'def answer():\n    return 42\n',
             'Fix the answer', CHANGE_C),
        ])
        release, checked = commits.check_commits('toy', None, self.cache)
        self.assertEqual(['Add the tests package', 'Test the answer',
                          'Fix the answer'], [c.subject for c in checked])
        added, early, fix = checked
        self.assertIsNone(added.results)
        self.assertTrue(added.ok)
        self.assertEqual(['toy.tests.test_early'], early.modules)
        self.assertEqual(1, early.results.failed)
        self.assertFalse(early.ok)
        self.assertIsNone(fix.results)
        text = commits.format_commits('toy', release, checked)
        self.assertIn('failed: toy.tests.test_early.T.test_answer', text)
        # The tree is left at the series' last commit, installed again.
        tree = os.path.join(self.cache, 'trees', 'toy-1.0')
        with open(os.path.join(tree, 'toy', 'core.py')) as f:
            self.assertIn('return 42', f.read())
        self.env.install_tree.assert_called()

    def test_sound_series_passes_and_the_command_exits_0(self):
        self.export([
            ('toy/tests/__init__.py', '', 'Add the tests package',
             test_pq.CHANGE_A),
            ('toy/tests/test_sound.py', SOUND_TEST, 'Test the name',
             test_pq.CHANGE_B),
        ])
        with mock.patch.object(commits.target_mod, 'PROJECTS', ('toy',)):
            self.assertEqual(0, main.main(['commits', 'toy',
                                           '--cache-dir', self.cache]))

    def test_unknown_project_exits_2(self):
        self.assertEqual(2, main.main(['commits', 'toy',
                                       '--cache-dir', self.cache]))

    def test_unselected_test_module_fails_its_commit(self):
        self.target.tests = self.release.tests = (('toy.tests.unit', None),)
        self.export([
            ('toy/tests/test_sound.py', SOUND_TEST, 'Test the name',
             test_pq.CHANGE_A),
        ])
        _release, checked = commits.check_commits('toy', None, self.cache)
        self.assertEqual(['toy.tests.test_sound'], checked[0].unselected)
        self.assertFalse(checked[0].ok)

    def test_empty_series_is_an_error(self):
        exc = self.assertRaises(commits.exceptions.PatchSeriesError,
                                commits.check_commits, 'toy', None,
                                self.cache)
        self.assertIn('the series is empty', str(exc))
