"""P1, the upload path: the real Nova and Cinder clients, side by side.

The unpatched and the patched driver of each project stay up, and each
image size goes through one and then the other, in turns; the rows give
the throughput ratio, the noise of the unpatched code against itself,
CPU, and the growth of each client's peak RSS.
"""

import logging
import os
import shutil
import tempfile

from patchseries import bench
from patchseries.bench import report
from patchseries import clients
from patchseries.fakeglance import fixture as fake_fixture
from patchseries import glance_identity
from patchseries import scenarios
from patchseries import table as table_mod

LOG = logging.getLogger(__name__)

# What each driver uploads, unmeasured, before it says it is ready.
WARMUP = 512 * bench.MiB


def _p1_orders(project, url, base, warmup=WARMUP):
    orders = {'glance_url': url, 'project': scenarios.PROJECT,
              'token': glance_identity.make_token(scenarios.PROJECT)}
    if project == 'nova':
        orders.update(mode='bench', base_image_ref=base, warmup=warmup)
    else:
        # The sparse volume files too go where memory is: reading a hole
        # of a tmpfs file costs no page cache.
        orders['bench'] = {'base_image_id': base, 'warmup': warmup,
                           'folder': _memory_dir()}
    return orders


def _affinity_headers(entry):
    return sorted(h for h in entry['headers']
                  if h in ('x-openstack-base-image-ref',
                           'x-image-meta-store'))


def _p1_measure(driver, fake, size):
    """One measured upload, checked: all of it reached Glance."""
    result = driver.measure(size)
    if result.get('error'):
        raise bench.BenchError('P1 %s: %s' % (driver.project, result['error']))
    if result['status'] != 'active' or result['glance_size'] != size:
        raise bench.BenchError(
            'P1 %s: the %s upload ended %s with %s bytes in Glance'
            % (driver.project, bench.format_size(size), result['status'],
               result['glance_size']))
    result['headers'] = _affinity_headers(fake.recorder.uploads()[-1])
    return result


def _start_drivers(project, side, orders):
    """The unpatched and the patched driver, both loaded and ready.

    The unpatched one loads its code from the upstream checkout; once it
    is ready the tree goes back to the series, and the patched one
    starts. Their code fingerprints must differ.
    """
    drivers = {}
    try:
        with table_mod.upstream_checkout({project: side}):
            drivers[False] = clients.ServingDriver(
                side.python, project, orders).wait_ready()
        drivers[True] = clients.ServingDriver(
            side.python, project, orders).wait_ready()
    except clients.DriverError as exc:
        for driver in drivers.values():
            driver.stop()
        raise bench.BenchError('P1 %s: %s' % (project, exc))
    if drivers[False].code == drivers[True].code:
        for driver in drivers.values():
            driver.stop()
        raise bench.BenchError(
            'P1 %s: the unpatched and the patched driver run the same '
            'code (%s)' % (project, drivers[True].code))
    return drivers


def run_p1(sides, sizes, repeats):
    """Throughput and peak RSS of each client, patched and unpatched.

    Both drivers of a project stay up; each size is uploaded by one and
    then by the other, in turns, so each pair of runs sees the same
    machine.
    """
    runs = []
    # NOTE: the fake keeps its stores in memory where it can, so that the
    # disk's writeback and the freeing of deleted files do not fall on
    # whichever upload comes next.
    root = tempfile.mkdtemp(prefix='bench-p1-', dir=_memory_dir())
    fake = fake_fixture.FakeGlanceFixture(base_image_ref_support=True,
                                          root=root)
    fake.setUp()
    try:
        glance = scenarios.Glance('fake', fake.url)
        base = glance.new_image(name='base')
        glance.upload(base, b'base image', store='store2')
        for project in bench.CLIENT_PROJECTS:
            LOG.info('P1 %s: starting the unpatched and the patched driver',
                     project)
            drivers = _start_drivers(project, sides[project],
                                     _p1_orders(project, fake.url, base))
            try:
                turn = 0
                for repeat in range(repeats):
                    for size in sizes:
                        order = (False, True) if turn % 2 == 0 else \
                            (True, False)
                        turn += 1
                        LOG.info('P1 %s, run %d of %d: %s, %s first',
                                 project, repeat + 1, repeats,
                                 bench.format_size(size),
                                 'patched' if order[0] else 'unpatched')
                        for patched in order:
                            result = _p1_measure(drivers[patched], fake, size)
                            runs.append(dict(result, project=project,
                                             repeat=repeat, patched=patched,
                                             code=drivers[patched].code))
            finally:
                for driver in drivers.values():
                    driver.stop()
    finally:
        fake.cleanUp()
        shutil.rmtree(root, ignore_errors=True)
    return runs


def _memory_dir():
    """``/dev/shm`` where it is a writable tmpfs, else the temp folder."""
    shm = '/dev/shm'
    if os.path.isdir(shm) and os.access(shm, os.W_OK):
        return shm
    return None


def _mib_s(run):
    return run['bytes'] / run['seconds'] / bench.MiB


def _growth_mib(run):
    return (run['rss_peak_kib'] - run['rss_before_kib']) / 1024.0


def p1_rows(runs, sizes):
    rows = []
    for project in bench.CLIENT_PROJECTS:
        for size in sizes:
            pairs = {}
            for run in runs:
                if run['project'] == project and run['bytes'] == size:
                    pairs.setdefault(run['repeat'], {})[run['patched']] = run
            pairs = [p for p in pairs.values() if len(p) == 2]
            if not pairs:
                continue
            name = '%s %s' % (project, bench.format_size(size))
            rows.append(report.Row(
                'P1', '%s throughput patched/unpatched' % name,
                [bench.ratio(_mib_s(p[True]), _mib_s(p[False]))
                 for p in pairs],
                at_least=bench.TARGETS['throughput_ratio']))
            # The same code against itself, run after run: how far apart
            # two identical uploads land on this machine.
            alone = sorted((r for r in runs if r['project'] == project and
                            r['bytes'] == size and not r['patched']),
                           key=lambda r: r['repeat'])
            rows.append(report.Row(
                'P1', '%s unpatched/unpatched (noise)' % name,
                [bench.ratio(_mib_s(b), _mib_s(a))
                 for a, b in zip(alone, alone[1:])],
                note='consecutive runs of the unpatched code'))
            rows.append(report.Row(
                'P1', '%s CPU patched/unpatched' % name,
                [bench.ratio(p[True]['cpu_seconds'], p[False]['cpu_seconds'])
                 for p in pairs],
                note='client process CPU time, not judged'))
            for patched in (True, False):
                rows.append(report.Row(
                    'P1', '%s peak RSS growth, %s' % (
                        name, 'patched' if patched else 'unpatched'),
                    [_growth_mib(p[patched]) for p in pairs], unit='MiB',
                    at_most=(bench.TARGETS['rss_growth_mib'] if patched
                             else None)))
    return rows
