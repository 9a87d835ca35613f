"""Run the doctests of the modules whose pure functions carry them."""

import doctest

from patchseries import bench
from patchseries.bench import callgrind as bench_callgrind
from patchseries.bench import command as bench_command
from patchseries.bench import p2 as bench_p2
from patchseries.bench import report as bench_report
from patchseries import commits
from patchseries import detect
from patchseries.fakeglance import recorder
from patchseries import glance_identity
from patchseries import pq
from patchseries import scenarios
from patchseries import sdist
from patchseries import series
from patchseries import target
from patchseries import tree
from patchseries import venv
from patchseries import verify

MODULES = (bench, bench_callgrind, bench_command, bench_p2, bench_report,
           commits, detect, glance_identity, pq, recorder, scenarios, sdist,
           series, target, tree, venv, verify)


def load_tests(loader, tests, pattern):
    for module in MODULES:
        tests.addTests(doctest.DocTestSuite(module))
    return tests
