import datetime
import io
import os
import re
import sys

import ddt
import subunit

from patchseries import exceptions
from patchseries import git
from patchseries import testrun
from tests import base


def subunit_stream(statuses):
    out = io.BytesIO()
    writer = subunit.StreamResultToBytes(out)
    for test_id, status in statuses:
        writer.status(test_id=test_id, test_status='inprogress')
        writer.status(test_id=test_id, test_status=status)
    return io.BytesIO(out.getvalue())


class TestParseSubunit(base.TestCase):

    def test_reads_final_status_of_each_test(self):
        statuses = testrun.parse_subunit(subunit_stream([
            ('a.test_ok', 'success'), ('a.test_bad', 'fail'),
            ('a.test_skip', 'skip'), ('a.test_xfail', 'xfail')]))
        self.assertEqual({'a.test_ok': 'success', 'a.test_bad': 'fail',
                          'a.test_skip': 'skip', 'a.test_xfail': 'xfail'},
                         statuses)

    def test_empty_stream_has_no_tests(self):
        self.assertEqual({}, testrun.parse_subunit(io.BytesIO(b'')))

    def test_durations_come_from_each_test_s_own_timestamps(self):
        out = io.BytesIO()
        writer = subunit.StreamResultToBytes(out)
        t0 = datetime.datetime(2026, 12, 7, tzinfo=datetime.timezone.utc)
        second = datetime.timedelta(seconds=1)
        # a.slow and a.fast overlap, as on two workers.
        writer.status(test_id='a.slow', test_status='inprogress',
                      timestamp=t0)
        writer.status(test_id='a.fast', test_status='inprogress',
                      timestamp=t0 + second)
        writer.status(test_id='a.fast', test_status='success',
                      timestamp=t0 + 1.5 * second)
        writer.status(test_id='a.slow', test_status='fail',
                      timestamp=t0 + 3 * second)
        writer.status(test_id='a.untimed', test_status='inprogress')
        writer.status(test_id='a.untimed', test_status='success')
        durations = {}
        statuses = testrun.parse_subunit(io.BytesIO(out.getvalue()),
                                         durations)
        self.assertEqual({'a.slow': 'fail', 'a.fast': 'success',
                          'a.untimed': 'success'}, statuses)
        self.assertEqual({'a.slow': 3.0, 'a.fast': 0.5}, durations)


class TestResults(base.TestCase):

    def test_counts(self):
        results = testrun.Results({'a': 'success', 'b': 'fail', 'c': 'skip',
                                   'd': 'uxsuccess', 'e': 'xfail'})
        self.assertEqual((5, 2, 2, 1), (results.run, results.passed,
                                        results.failed, results.skipped))
        self.assertEqual(['b', 'd'], results.ids(testrun.FAILED))

    def test_merged_adds_wall_and_test_times(self):
        unit = testrun.Results({'a': 'success'}, 'unit.log', 10.0, 18.0)
        functional = testrun.Results({'b': 'fail'}, 'func.log', 5.0, 9.5)
        both = unit.merged(functional)
        self.assertEqual({'a': 'success', 'b': 'fail'}, both.statuses)
        self.assertEqual((15.0, 27.5), (both.seconds, both.test_seconds))
        self.assertEqual(27.5, both.as_dict()['test_seconds'])

    def test_regressions_are_passing_tests_that_fail_or_vanish(self):
        before = testrun.Results({'a': 'success', 'b': 'success',
                                  'c': 'fail', 'd': 'success'})
        after = testrun.Results({'a': 'success', 'b': 'fail', 'c': 'fail',
                                 'new': 'success'})
        self.assertEqual(['b', 'd'], before.regressions(after))


@ddt.ddt
class TestSelection(base.TestCase):

    @ddt.data(
        ('nova.tests.unit.image.test_glance.TestUpdate.test_x', True),
        ('nova.tests.unit.image.test_glance_other.T.test_x', False),
        ('nova.tests.unit.virt.libvirt.test_driver.T.test_snapshot', True),
        ('nova.tests.unit.virt.libvirt.test_driver.T.test_Snapshot', True),
        ('nova.tests.unit.virt.libvirt.test_driver.T.test_reboot', False),
    )
    @ddt.unpack
    def test_regexes_select_the_right_ids(self, test_id, selected):
        regexes = testrun.selection_regexes([
            ('nova.tests.unit.image.test_glance', None),
            ('nova.tests.unit.virt.libvirt.test_driver', '[Ss]napshot')])
        self.assertEqual(selected,
                         any(re.search(r, test_id) for r in regexes))


TOY_TEST = """import unittest


class T(unittest.TestCase):

    def test_snapshot(self):
        pass

    def test_other(self):
        pass
"""

RANDOM_TEST = """import unittest
import uuid


class T(unittest.TestCase):

    def test_fixed(self):
        pass


setattr(T, 'test_%s' % uuid.uuid4().hex, lambda self: None)
"""


SLOW_TEST = """import time
import unittest


class T(unittest.TestCase):

    def test_one(self):
        time.sleep(0.3)

    def test_two(self):
        time.sleep(0.3)
"""


class TestRunSelection(base.TestCase):
    """Real stestr runs on a toy tree, a git tree like verify's."""

    def setUp(self):
        super().setUp()
        self.tree = os.path.join(self.tmp, 'tree')
        self.cache = os.path.join(self.tmp, 'listings')
        self.write({
            'toy/__init__.py': '',
            'toy/tests/__init__.py': '',
            'toy/tests/test_a.py': TOY_TEST,
            '.gitignore': '.stestr/\n__pycache__/\n',
        })
        self.repo = git.Repo(self.tree)
        self.repo.run('init', '--quiet')
        self.commit('toy')

    def write(self, files):
        for path, text in files.items():
            path = os.path.join(self.tree, path)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.write(text)

    def commit(self, message):
        self.repo.run('add', '--all')
        self.repo.run('commit', '--quiet', '-m', message)

    def run_selection(self, tests, listing_cache=None):
        return testrun.run_selection(
            os.path.dirname(sys.executable), self.tree, './toy/tests', tests,
            {}, 'toy', os.path.join(self.tmp, 'toy.log'), concurrency=2,
            listing_cache=listing_cache)

    def log(self):
        with open(os.path.join(self.tmp, 'toy.log')) as f:
            return f.read()

    def test_the_regexes_pick_the_tests(self):
        results = self.run_selection([('toy.tests.test_a', 'snap')])
        self.assertEqual({'toy.tests.test_a.T.test_snapshot': 'success'},
                         results.statuses)
        self.assertIn('$ stestr list (1 selection patterns): exit 0',
                      self.log())
        self.assertIn('Totals', self.log())

    def test_the_tests_own_time_is_summed(self):
        self.write({'toy/tests/test_slow.py': SLOW_TEST})
        results = self.run_selection([('toy.tests.test_slow', None)])
        self.assertEqual(2, results.passed)
        # Two tests of 0.3 s each, on two workers: their own time adds up,
        # whatever the wall time of the run.
        self.assertGreaterEqual(results.test_seconds, 0.6)
        self.assertLess(results.test_seconds, 5.0)

    def test_a_listed_test_no_worker_ran_is_a_failure(self):
        self.write({'toy/tests/test_random.py': RANDOM_TEST})
        results = self.run_selection([('toy.tests.test_random', None)])
        fixed = 'toy.tests.test_random.T.test_fixed'
        self.assertEqual('success', results.statuses[fixed])
        unrun = results.ids(['unrun'])
        self.assertEqual(1, len(unrun))
        self.assertEqual(1, results.failed)
        # The id a worker ran is not the one that was listed.
        self.assertEqual(2, results.run)

    def test_a_module_that_fails_to_import_fails_the_listing(self):
        self.write({'toy/tests/test_broken.py':
                    'raise RuntimeError("imported")\n'})
        exc = self.assertRaises(exceptions.TestRunError, self.run_selection,
                                [('toy.tests.test_a', None)])
        self.assertIn('listing the selected tests failed', str(exc))
        self.assertIn('test_broken', str(exc))

    def test_a_selection_that_matches_nothing_is_an_error(self):
        exc = self.assertRaises(exceptions.TestRunError, self.run_selection,
                                [('toy.tests.test_gone', None)])
        self.assertIn('match no test', str(exc))
        self.assertIn('test_gone', str(exc))

    def test_the_listing_of_a_commit_is_kept_for_the_next_run(self):
        tests = [('toy.tests.test_a', None)]
        first = self.run_selection(tests, self.cache)
        self.assertIn('$ stestr list', self.log())
        second = self.run_selection(tests, self.cache)
        self.assertNotIn('$ stestr list', self.log())
        self.assertIn('kept from an earlier listing', self.log())
        self.assertEqual(first.statuses, second.statuses)
        # Another selection, or a new commit, is listed again.
        self.run_selection([('toy.tests.test_a', 'snap')], self.cache)
        self.assertIn('$ stestr list', self.log())
        self.write({'toy/tests/test_a.py': TOY_TEST +
                    '\n    def test_new(self):\n        pass\n'})
        self.commit('new test')
        third = self.run_selection(tests, self.cache)
        self.assertIn('$ stestr list', self.log())
        self.assertEqual('success',
                         third.statuses['toy.tests.test_a.T.test_new'])

    def test_a_tree_with_changes_is_always_listed(self):
        tests = [('toy.tests.test_a', None)]
        self.run_selection(tests, self.cache)
        self.write({'toy/tests/test_b.py': TOY_TEST})
        self.run_selection(tests, self.cache)
        self.assertIn('$ stestr list', self.log())
        self.assertIsNone(testrun.listing_key(
            self.tree, os.path.dirname(sys.executable), './toy/tests',
            ['^toy'], {}))
