"""P1, the upload path: the real Nova and Cinder clients, side by side.

The unpatched and the patched driver of each project stay up, and each
image size goes through one and then the other, in turns; the rows give
the throughput ratio, the noise of the unpatched code against itself,
CPU, and the growth of each client's peak RSS.

Beside the clock, the same drivers run under callgrind: the instructions
each upload runs, at two sizes, split into a per-byte part and a
per-upload part, patched against unpatched. Those counts repeat to
within 0.03% from run to run, so they can resolve the 1% the clock cannot.

Repeatable is not yet comparable: both sides must start each upload from
the same state, or the count measures that state. Two things did not,
and made Cinder's patched code look 1.6% dearer per MiB: where eventlet's
hub was first entered, which decides how much stack every tpool hand-off
copies (the Cinder driver now starts the hub before its warm-up, see
``cinder_client.start_hub``), and a garbage collection that fell on one
size of one side (``benchmeasure.measure`` now collects before each
upload, uncounted).
"""

import contextlib

import logging
import os
import shutil
import tempfile

from patchseries import bench
from patchseries.bench import callgrind
from patchseries.bench import report
from patchseries import clients
from patchseries.fakeglance import fixture as fake_fixture
from patchseries import glance_identity
from patchseries import scenarios
from patchseries import table as table_mod

LOG = logging.getLogger(__name__)

# What each driver uploads, unmeasured, before it says it is ready.
WARMUP = 512 * bench.MiB
# The same under callgrind, where every byte costs fifty times more: it
# only has to load what the first upload loads.
COUNTED_WARMUP = bench.MiB
# How long a driver under valgrind may take to load its project.
COUNTED_READY_S = 1800


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


def _start_drivers(project, side, orders, under=None, ready_s=300):
    """The unpatched and the patched driver, both loaded and ready.

    The unpatched one loads its code from the upstream checkout; once it
    is ready the tree goes back to the series, and the patched one
    starts. Their code fingerprints must differ.

    :param under: ``under(patched) -> (argv prefix, environment)`` to run
        the drivers under another program (callgrind).
    """
    def start(patched):
        prefix, env = under(patched) if under else ((), None)
        return clients.ServingDriver(side.python, project, orders,
                                     prefix=prefix, env=env
                                     ).wait_ready(ready_s)

    drivers = {}
    try:
        with table_mod.upstream_checkout({project: side}):
            drivers[False] = start(False)
        drivers[True] = start(True)
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
    with _fake_glance() as (fake, base):
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
    return runs


@contextlib.contextmanager
def _fake_glance():
    """The fake Glance with a base image in store2: ``(fake, base id)``."""
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
        yield fake, base
    finally:
        fake.cleanUp()
        shutil.rmtree(root, ignore_errors=True)


def run_p1_counted(sides, sizes, cache_dir, work_dir,
                   install_system_deps=False):
    """Instructions of each upload, patched and unpatched, by callgrind.

    One upload of each size per driver: the counts repeat closely (the
    drivers run with a fixed hash seed), so one upload of each decides
    the per-MiB ratio.
    """
    if len(set(sizes)) < 2:
        raise bench.BenchError('P1 instruction counts need two sizes or '
                               'more, to tell per-byte from per-upload '
                               'work; got %s' % ', '.join(
                                   bench.format_size(s) for s in sizes))
    library = callgrind.helper_library(cache_dir, install_system_deps)
    out_dir = tempfile.mkdtemp(prefix='bench-p1-callgrind-', dir=work_dir)
    runs = []
    try:
        with _fake_glance() as (fake, base):
            for project in bench.CLIENT_PROJECTS:
                def under(patched, project=project):
                    out = os.path.join(out_dir, '%s-%s.out' % (
                        project, 'patched' if patched else 'unpatched'))
                    return (callgrind.driver_command(out),
                            callgrind.driver_env(library, out))

                LOG.info('P1 %s: starting both drivers under callgrind',
                         project)
                drivers = _start_drivers(
                    project, sides[project],
                    _p1_orders(project, fake.url, base,
                               warmup=COUNTED_WARMUP),
                    under=under, ready_s=COUNTED_READY_S)
                try:
                    for size in sorted(set(sizes)):
                        for patched in (False, True):
                            LOG.info('P1 %s: counting a %s upload, %s',
                                     project, bench.format_size(size),
                                     'patched' if patched else 'unpatched')
                            result = _p1_measure(drivers[patched], fake, size)
                            if 'instructions' not in result:
                                raise bench.BenchError(
                                    'P1 %s: the driver under callgrind '
                                    'counted nothing' % project)
                            runs.append(dict(result, project=project,
                                             patched=patched,
                                             code=drivers[patched].code))
                finally:
                    for driver in drivers.values():
                        driver.stop()
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    return runs


def counted_rows(runs):
    """Per-MiB and per-upload instructions, patched against unpatched."""
    rows = []
    for project in bench.CLIENT_PROJECTS:
        parts = {}
        for patched in (False, True):
            points = sorted((r['bytes'], r['instructions']) for r in runs
                            if r['project'] == project and
                            r['patched'] == patched)
            if len(points) >= 2:
                parts[patched] = callgrind.per_byte(points[0], points[-1])
        if len(parts) < 2:
            continue
        (slope_u, fixed_u), (slope_p, fixed_p) = parts[False], parts[True]
        rows.append(report.Row(
            'P1', '%s instructions per MiB patched/unpatched' % project,
            [bench.ratio(slope_p, slope_u)],
            at_most=bench.TARGETS['instructions_ratio'],
            note='callgrind; the slope between the smallest and the '
            'largest upload'))
        for patched, slope in ((True, slope_p), (False, slope_u)):
            rows.append(report.Row(
                'P1', '%s instructions per MiB, %s' % (
                    project, 'patched' if patched else 'unpatched'),
                [slope * bench.MiB / 1e6], unit='M'))
        for patched, fixed in ((True, fixed_p), (False, fixed_u)):
            rows.append(report.Row(
                'P1', '%s instructions per upload, %s' % (
                    project, 'patched' if patched else 'unpatched'),
                [fixed / 1e3], unit='k',
                note='one upload less its per-byte part'))
        rows.append(report.Row(
            'P1', '%s instructions per upload, patched - unpatched'
            % project, [(fixed_p - fixed_u) / 1e3], unit='k'))
    return rows


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
