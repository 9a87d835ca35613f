"""P4, ``verify`` wall time: cold, warm, and warm with the baseline reused.
"""

import logging
import os
import shutil
import tempfile

import fixtures

from patchseries import bench
from patchseries.bench import report
from patchseries import verify as verify_mod

LOG = logging.getLogger(__name__)


WARM_REUSED = 'warm, baseline reused'


def run_p4(cache_dir, work_dir, projects, install_system_deps):
    """``verify`` of each project, cold (empty caches) and then warm.

    Cold uses a new patchseries cache and a new uv cache, so sdists,
    wheels and environments all come from the network; warm uses the
    usual caches, where ``verify`` built the environments before, and
    runs the unpatched baseline again; the third pass reuses the
    baseline (see :mod:`patchseries.baseline`).
    """
    runs, reports = [], {}
    cold_root = tempfile.mkdtemp(prefix='bench-p4-cold-', dir=work_dir)
    try:
        with fixtures.EnvironmentVariable('UV_CACHE_DIR',
                                          os.path.join(cold_root, 'uv')):
            for project in projects:
                LOG.info('P4: verify %s with cold caches', project)
                report = verify_mod.verify_project(
                    project, os.path.join(cold_root, 'patchseries'),
                    install_system_deps=install_system_deps)
                runs.append(_p4_run(report, 'cold'))
    finally:
        shutil.rmtree(cold_root, ignore_errors=True)
    # NOTE: warm runs the unpatched baseline again; the last pass may
    # reuse the baseline the warm pass just kept, as a repeated verify
    # does, and leaves each tree patched and installed for P1-P3.
    for cache, reuse in (('warm', False), (WARM_REUSED, True)):
        for project in projects:
            LOG.info('P4: verify %s with %s caches', project, cache)
            report = verify_mod.verify_project(
                project, cache_dir, install_system_deps=install_system_deps,
                reuse_baseline=reuse)
            runs.append(_p4_run(report, cache))
            reports[project] = report
    return runs, reports


def _p4_run(report, cache):
    if not report.ok:
        raise bench.BenchError('P4: verify %s (%s caches) failed: %s' % (
            report.project, cache, report.error or 'see its test log'))
    return {'project': report.project, 'cache': cache,
            'seconds': report.seconds, 'steps': dict(report.steps)}


def p4_rows(runs):
    rows = []
    for cache in ('cold', 'warm', WARM_REUSED):
        these = [r for r in runs if r['cache'] == cache]
        for run in these:
            step = max(run['steps'], key=run['steps'].get)
            rows.append(report.Row(
                'P4', 'verify %s, %s' % (run['project'], cache),
                [run['seconds']], unit='s',
                note='longest step: %s (%.0fs)' % (step,
                                                   run['steps'][step])))
        if these:
            rows.append(report.Row(
                'P4', 'verify, all projects, %s' % cache,
                [sum(r['seconds'] for r in these)], unit='s',
                at_most=bench.TARGETS['verify_warm_s'] if cache == 'warm'
                else None))
    return rows
