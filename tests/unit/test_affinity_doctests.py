"""The doctests of affinityclient's pure functions."""

import doctest

from affinityclient.osc.v1 import common


def load_tests(loader, tests, pattern):
    tests.addTests(doctest.DocTestSuite(common))
    return tests
