"""P4, ``verify`` wall time of every release: cold, warm, baseline reused.
"""

import logging
import os
import shutil
import tempfile
import time

import fixtures

from patchseries import bench
from patchseries.bench import report
from patchseries import verify as verify_mod

LOG = logging.getLogger(__name__)


WARM_REUSED = 'warm, baseline reused'
CACHES = ('cold', 'warm', WARM_REUSED)


def run_p4(cache_dir, work_dir, projects, install_system_deps,
           releases=None, passes=CACHES):
    """``verify`` of every release of ``projects``: cold, then warm.

    Each pass verifies every (project, release) pair the way ``verify``
    does (the next pair prepared while a pair's tests run), without the
    scenario table. Cold uses a new patchseries cache and a new uv
    cache, so sdists, wheels and environments all come from the
    network; warm uses the usual caches, where ``verify`` built the
    environments and kept the test listings before, and runs the
    unpatched baselines again; the third pass reuses them (see
    :mod:`patchseries.baseline`).

    :param releases: release names to verify (default: every one).
    :param passes: which of :data:`CACHES` to run, in their order; a
        pass measured alone says so in the report (each run names its
        pass), and ``--merge`` can join passes of separate runs.
    :returns: ``(runs, {project: report of its newest release})``.
    """
    unknown = [p for p in passes if p not in CACHES]
    if unknown or not passes:
        raise bench.BenchError('P4 passes are some of %s; not %s'
                               % (', '.join(CACHES), ', '.join(passes)))
    pairs = verify_mod.plan_pairs(projects, releases)
    runs, newest, reports = [], {}, []
    if 'cold' in passes:
        cold_root = tempfile.mkdtemp(prefix='bench-p4-cold-', dir=work_dir)
        try:
            with fixtures.EnvironmentVariable(
                    'UV_CACHE_DIR', os.path.join(cold_root, 'uv')):
                runs += _p4_pass(pairs, os.path.join(cold_root,
                                                     'patchseries'),
                                 'cold', True, install_system_deps)[0]
        finally:
            shutil.rmtree(cold_root, ignore_errors=True)
    # NOTE: warm runs the unpatched baselines again; the last pass may
    # reuse the baselines the warm pass just kept, as a repeated verify
    # does, and leaves each tree patched and installed for P1-P3.
    for cache, reuse in (('warm', False), (WARM_REUSED, True)):
        if cache in passes:
            these, reports = _p4_pass(pairs, cache_dir, cache, reuse,
                                      install_system_deps)
            runs += these
    for done in reports:
        newest.setdefault(done.project, done)
    return runs, newest


def _p4_pass(pairs, cache_dir, cache, reuse, install_system_deps):
    LOG.info('P4: verify %d pairs with %s caches', len(pairs), cache)
    start = time.monotonic()
    reports = verify_mod.verify_pairs(
        pairs, cache_dir, install_system_deps=install_system_deps,
        reuse_baseline=reuse)
    seconds = time.monotonic() - start
    runs = [_p4_run(report, cache) for report in reports]
    # NOTE: verify runs stestr with its default concurrency, a worker per
    # CPU.
    runs.append({'project': None, 'release': None, 'cache': cache,
                 'seconds': seconds, 'steps': {},
                 'workers': os.cpu_count() or 1})
    return runs, reports


def _p4_run(report, cache):
    if not report.ok:
        raise bench.BenchError('P4: verify %s %s (%s caches) failed: %s' % (
            report.project, report.release, cache,
            report.error or 'see its test log'))
    return {'project': report.project, 'release': report.release,
            'cache': cache, 'seconds': report.seconds,
            'steps': dict(report.steps),
            'test_seconds': tests_own_seconds(report)}


def tests_own_seconds(report):
    """The tests' own time of the sides a pair ran.

    A reused baseline ran no test in this pass, and counts for nothing.
    """
    sides = [report.patched]
    if not report.baseline_reused:
        sides.append(report.unpatched)
    return sum(side.test_seconds for side in sides if side is not None)


def p4_rows(runs):
    """One row per pair and per release, and the wall time of each pass.

    A run of an older bench, without releases, counts as one release.
    """
    rows = []
    for cache in CACHES:
        these = [r for r in runs if r['cache'] == cache and r['project']]
        for run in these:
            step = max(run['steps'], key=run['steps'].get)
            rows.append(report.Row(
                'P4', 'verify %s%s, %s' % (
                    run['project'], _release(run), cache),
                [run['seconds']], unit='s',
                note='longest step: %s (%.0fs)' % (step,
                                                   run['steps'][step])))
        names = []
        for run in these:
            if run.get('release') not in names:
                names.append(run.get('release'))
        if len(names) > 1:
            for name in names:
                rows.append(report.Row(
                    'P4', 'verify, release %s, %s' % (name, cache),
                    [sum(r['seconds'] for r in these
                         if r.get('release') == name)], unit='s',
                    note='its pairs, one after the other'))
        passes = [r for r in runs if r['cache'] == cache and not r['project']]
        walls = [r['seconds'] for r in passes]
        target = bench.TARGETS['verify_warm_s'] if cache == 'warm' else None
        if these:
            rows.append(report.Row(
                'P4', 'verify, every release, %s' % cache,
                walls or [sum(r['seconds'] for r in these)], unit='s',
                at_most=target,
                note='wall time of the pass' if walls else ''))
        floor = _floor_row(cache, these, passes, target)
        if floor:
            rows.append(floor)
    return rows


def _floor_row(cache, these, passes, target):
    """The least time any run of the pass's tests could take here.

    It is the tests' own time (each test timed by its worker) over the
    workers that ran them; what verify adds around them (listing,
    starting workers, installing) comes on top. Older runs kept neither
    figure, and get no row.
    """
    workers = [r.get('workers') for r in passes if r.get('workers')]
    own = [r.get('test_seconds') for r in these]
    if not these or not workers or None in own:
        return None
    total = sum(own)
    return report.Row(
        'P4', 'verify, every release, %s: its tests alone' % cache,
        [total / workers[0]], unit='s', at_most=target,
        note="the tests' own time, %.0fs, over %d workers: the least any "
             "verify of these selections can take on this machine"
             % (total, workers[0]))


def _release(run):
    return ' %s' % run['release'] if run.get('release') else ''
