import io

import subunit

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


class TestResults(base.TestCase):

    def test_counts(self):
        results = testrun.Results({'a': 'success', 'b': 'fail', 'c': 'skip',
                                   'd': 'uxsuccess', 'e': 'xfail'})
        self.assertEqual((5, 2, 2, 1), (results.run, results.passed,
                                        results.failed, results.skipped))
        self.assertEqual(['b', 'd'], results.ids(testrun.FAILED))

    def test_regressions_are_passing_tests_that_fail_or_vanish(self):
        before = testrun.Results({'a': 'success', 'b': 'success',
                                  'c': 'fail', 'd': 'success'})
        after = testrun.Results({'a': 'success', 'b': 'fail', 'c': 'fail',
                                 'new': 'success'})
        self.assertEqual(['b', 'd'], before.regressions(after))
