"""bench: what the series cost on the hot path, measured side by side.

Four figures, each against a target (``patchseries bench``):

P1  the upload path: the real Nova image API ``update(... data)`` and
    Cinder's ``upload_volume()``, patched and unpatched, streaming
    generated images to the fake Glance. Throughput ratio and client
    peak RSS growth per image size.
P2  Glance's decision: on the real patched Glance, the latency of
    one-byte uploads that name a base image against uploads that name a
    store, with few and with many images in the database.
P3  co-location: after an upload that follows its base, how fast the
    copies into the base's other stores finish, against ``cp``.
P4  ``verify`` wall time per project, with cold and with warm caches, and
    warm with the unpatched baseline reused.

Repeated runs alternate which side goes first, so a machine that drifts
does not favour one side. Nothing here is a test: the targets are
reported, never asserted.
"""

import contextlib
import datetime
import io
import json
import logging
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
import uuid

import fixtures

from patchseries import benchplot
from patchseries import clients
from patchseries.clients import benchmeasure
from patchseries import exceptions
from patchseries.fakeglance import fixture as fake_fixture
from patchseries import glance_identity
from patchseries import realglance
from patchseries import scenarios
from patchseries import table as table_mod
from patchseries import target as target_mod
from patchseries import verify as verify_mod

LOG = logging.getLogger(__name__)

MiB = 1 << 20
GiB = 1 << 30
FIGURES = ('p1', 'p2', 'p3', 'p4')
CLIENT_PROJECTS = ('nova', 'cinder')
# What a figure needs prepared (its tree patched, its environment built).
NEEDS = {'p1': CLIENT_PROJECTS, 'p2': ('glance',), 'p3': ('glance',),
         'p4': ()}

# What each P1 driver uploads, unmeasured, before it says it is ready.
P1_WARMUP = 512 * MiB

TARGETS = {
    'throughput_ratio': 0.98,   # P1: patched / unpatched, at least
    'rss_growth_mib': benchplot.RSS_TARGET_MIB,  # P1: peak RSS growth
    'latency_ratio': 1.05,      # P2: base ref / store header p50, at most
    'growth_ratio': 1.05,       # P2: p50 at many images / at few, at most
    'copy_vs_cp': 0.8,          # P3: copy throughput / cp, at least
    'verify_warm_s': 600,       # P4: all three projects, warm, at most
}


class BenchError(exceptions.PatchSeriesError):
    """A figure could not be measured (not: a target was missed)."""


def parse_size(text):
    """``'256M'``, ``'1G'`` or a byte count -> bytes.

    >>> parse_size('256M'), parse_size('1G'), parse_size('4096')
    (268435456, 1073741824, 4096)
    """
    units = {'K': 1 << 10, 'M': MiB, 'G': GiB}
    text = text.strip().upper().rstrip('IB')
    try:
        if text and text[-1] in units:
            value = int(text[:-1]) * units[text[-1]]
        else:
            value = int(text)
    except ValueError:
        raise BenchError('%r is not a size; use bytes or a number with '
                         'K, M or G (binary units), like 256M' % text)
    if value <= 0:
        raise BenchError('a size must be positive, not %r' % text)
    return value


def format_size(size):
    """Bytes in the largest binary unit that divides them.

    >>> format_size(268435456), format_size(4 * GiB), format_size(10)
    ('256 MiB', '4 GiB', '10 B')
    """
    for unit, name in ((GiB, 'GiB'), (MiB, 'MiB')):
        if size >= unit and size % unit == 0:
            return '%d %s' % (size // unit, name)
    return '%d B' % size


def spread(values):
    """min, median and max of ``values`` (None where there are none).

    >>> spread([3, 1, 2])
    {'n': 3, 'min': 1, 'median': 2, 'max': 3}
    """
    values = [v for v in values if v is not None]
    if not values:
        return {'n': 0, 'min': None, 'median': None, 'max': None}
    return {'n': len(values), 'min': min(values),
            'median': statistics.median(values), 'max': max(values)}


def percentile(values, fraction):
    """The nearest-rank percentile.

    >>> percentile(list(range(1, 101)), 0.95), percentile([5.0], 0.5)
    (95, 5.0)
    """
    ordered = sorted(values)
    rank = max(1, int(-(-fraction * len(ordered) // 1)))
    return ordered[rank - 1]


def machine():
    """What the numbers were measured on."""
    info = {'python': platform.python_version(),
            'kernel': platform.release(), 'cores': os.cpu_count()}
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    info['cpu'] = line.split(':', 1)[1].strip()
                    break
        with open('/proc/meminfo') as f:
            kib = int(f.readline().split()[1])
            info['memory_gib'] = round(kib / (1 << 20), 1)
    except (OSError, ValueError, IndexError):
        pass
    return info


class Row(object):
    """One line of the results table: a ratio or a value, and its target.

    :param values: one value per repeated run.
    :param at_least / at_most: the target, if the row has one; the
        median is what is judged, min and max show the spread.
    """

    def __init__(self, figure, what, values, unit='', at_least=None,
                 at_most=None, note=''):
        self.figure = figure
        self.what = what
        self.values = list(values)
        self.unit = unit
        self.at_least = at_least
        self.at_most = at_most
        self.note = note

    @property
    def spread(self):
        return spread(self.values)

    @property
    def met(self):
        median = self.spread['median']
        if median is None:
            return None
        if self.at_least is not None:
            return median >= self.at_least
        if self.at_most is not None:
            return median <= self.at_most
        return None

    @property
    def target(self):
        if self.at_least is not None:
            return '>= %s' % _number(self.at_least)
        if self.at_most is not None:
            return '<= %s' % _number(self.at_most)
        return ''

    def as_dict(self):
        return dict(self.spread, figure=self.figure, what=self.what,
                    unit=self.unit, target=self.target, met=self.met,
                    values=self.values, note=self.note)


def _number(value):
    if value is None:
        return '-'
    if abs(value) >= 100:
        return '%.0f' % value
    if abs(value) >= 10:
        return '%.1f' % value
    return '%.3f' % value if abs(value) < 2 else '%.2f' % value


def format_table(rows):
    """The table ``bench`` prints (reStructuredText, for the README)."""
    header = ('figure', 'measure', 'n', 'min', 'median', 'max', 'target',
              'met')
    lines = [header]
    for row in rows:
        s = row.spread
        met = {True: 'yes', False: 'NO', None: ''}[row.met]
        what = row.what + (' (%s)' % row.unit if row.unit else '')
        lines.append((row.figure, what, str(s['n']), _number(s['min']),
                      _number(s['median']), _number(s['max']), row.target,
                      met))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rule = '  '.join('=' * w for w in widths)
    out = [rule]
    for index, line in enumerate(lines):
        out.append('  '.join(cell.ljust(w)
                             for cell, w in zip(line, widths)).rstrip())
        if index == 0:
            out.append(rule)
    out.append(rule)
    return '\n'.join(out)


# -- P1: the upload path of the real clients ---------------------------------

def _p1_orders(project, url, base, warmup=P1_WARMUP):
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
        raise BenchError('P1 %s: %s' % (driver.project, result['error']))
    if result['status'] != 'active' or result['glance_size'] != size:
        raise BenchError(
            'P1 %s: the %s upload ended %s with %s bytes in Glance'
            % (driver.project, format_size(size), result['status'],
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
        raise BenchError('P1 %s: %s' % (project, exc))
    if drivers[False].code == drivers[True].code:
        for driver in drivers.values():
            driver.stop()
        raise BenchError('P1 %s: the unpatched and the patched driver run '
                         'the same code (%s)' % (project,
                                                 drivers[True].code))
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
        for project in CLIENT_PROJECTS:
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
                                 format_size(size),
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
    return run['bytes'] / run['seconds'] / MiB


def _growth_mib(run):
    return (run['rss_peak_kib'] - run['rss_before_kib']) / 1024.0


def _ratio(a, b):
    """``a / b``, or None where ``b`` is too small to have been measured.

    >>> _ratio(3.0, 2.0), _ratio(1.0, 0.0)
    (1.5, None)
    """
    return a / b if b > 0 else None


def p1_rows(runs, sizes):
    rows = []
    for project in CLIENT_PROJECTS:
        for size in sizes:
            pairs = {}
            for run in runs:
                if run['project'] == project and run['bytes'] == size:
                    pairs.setdefault(run['repeat'], {})[run['patched']] = run
            pairs = [p for p in pairs.values() if len(p) == 2]
            if not pairs:
                continue
            name = '%s %s' % (project, format_size(size))
            rows.append(Row('P1', '%s throughput patched/unpatched' % name,
                            [_ratio(_mib_s(p[True]), _mib_s(p[False]))
                             for p in pairs],
                            at_least=TARGETS['throughput_ratio']))
            # The same code against itself, run after run: how far apart
            # two identical uploads land on this machine.
            alone = sorted((r for r in runs if r['project'] == project and
                            r['bytes'] == size and not r['patched']),
                           key=lambda r: r['repeat'])
            rows.append(Row('P1', '%s unpatched/unpatched (noise)' % name,
                            [_ratio(_mib_s(b), _mib_s(a))
                             for a, b in zip(alone, alone[1:])],
                            note='consecutive runs of the unpatched code'))
            rows.append(Row('P1', '%s CPU patched/unpatched' % name,
                            [_ratio(p[True]['cpu_seconds'],
                                    p[False]['cpu_seconds'])
                             for p in pairs],
                            note='client process CPU time, not judged'))
            for patched in (True, False):
                rows.append(Row(
                    'P1', '%s peak RSS growth, %s' % (
                        name, 'patched' if patched else 'unpatched'),
                    [_growth_mib(p[patched]) for p in pairs], unit='MiB',
                    at_most=TARGETS['rss_growth_mib'] if patched else None))
    return rows


# -- P2: Glance's decision cost ----------------------------------------------

class GlanceDB(object):
    """Images made and removed straight in the real Glance's sqlite file.

    The API would take minutes for ten thousand images, and P2 times the
    upload only: what surrounds it goes to the database, where it costs
    next to nothing. Glance is idle meanwhile (it serves one request at
    a time, and the bench waits for each answer).
    """

    # What a copy of an image copies; the affinity tests add
    # image_properties (base_image_ref lives there).
    TABLES = (('images', 'id'), ('image_locations', 'image_id'))

    def __init__(self, path):
        self.path = path

    def _connect(self):
        return sqlite3.connect(self.path)

    def copy_image(self, template_id, count):
        """Add ``count`` copies of an image (and of its locations).

        :returns: the new ids.
        """
        ids = [str(uuid.uuid4()) for _ in range(count)]
        db = self._connect()
        try:
            with db:
                for table, key in self.TABLES:
                    self._copy_rows(db, table, key, template_id, ids)
        finally:
            db.close()
        return ids

    @staticmethod
    def _copy_rows(db, table, key, template_id, ids):
        columns = [c[1] for c in db.execute('PRAGMA table_info(%s)' % table)]
        template = db.execute('SELECT * FROM %s WHERE %s = ? AND deleted = 0'
                              % (table, key), (template_id,)).fetchall()
        if table == 'images' and not template:
            raise BenchError('P2: the image %s is not in %s'
                             % (template_id, table))
        for record in template:
            row = dict(zip(columns, record))
            if table != 'images':
                del row['id']  # sqlite numbers the new rows
            names = sorted(row)
            values = []
            for image_id in ids:
                row[key] = image_id
                if 'value' in row:
                    row['value'] = record[columns.index('value')].replace(
                        template_id, image_id)
                values.append([row[n] for n in names])
            db.executemany('INSERT INTO %s (%s) VALUES (%s)' % (
                table, ', '.join(names), ', '.join('?' * len(names))),
                values)

    def delete(self, image_ids):
        """Mark images deleted, as Glance does (their rows stay)."""
        db = self._connect()
        try:
            with db:
                for table, key in (('images', 'id'),
                                   ('image_locations', 'image_id')):
                    db.executemany(
                        "UPDATE %s SET deleted = 1, deleted_at = "
                        "datetime('now') WHERE %s = ?" % (table, key),
                        [(i,) for i in image_ids])
                db.executemany("UPDATE images SET status = 'deleted' "
                               "WHERE id = ?", [(i,) for i in image_ids])
        finally:
            db.close()

    def count(self):
        db = self._connect()
        try:
            return db.execute('SELECT count(*) FROM images WHERE deleted = 0'
                              ).fetchone()[0]
        finally:
            db.close()


@contextlib.contextmanager
def _glance_with_base(glance_side, work_dir, figure):
    """The real patched Glance, with a base image in store2."""
    with realglance.serving(glance_side.bin_dir, work_dir,
                            prefix='bench-%s-' % figure) as server:
        glance = scenarios.Glance('real', server.url)
        base = glance.new_image(name='base')
        glance.upload(base, b'base image', store='store2')
        yield server, glance, base


def _timed_upload(client, image_id, store=None):
    start = time.perf_counter()
    client.images.upload(image_id, io.BytesIO(b'x'), backend=store)
    return time.perf_counter() - start


def run_p2(glance_side, work_dir, counts, uploads, repeats):
    """p50 and p95 of one-byte uploads: base ref against store header.

    The two kinds alternate, and each run starts with the same number
    of images: the uploaded ones are deleted after the run.
    """
    runs = []
    with _glance_with_base(glance_side, work_dir, 'p2') as parts:
        server, glance, base = parts
        queued = glance.new_image(name='p2')
        by_kind = {
            'base_ref': (glance.client(headers={scenarios.BASE_REF: base}),
                         None),
            'store': (glance.client(), 'store2'),
        }
        db = GlanceDB(os.path.join(server.root, 'glance.sqlite'))
        for count in sorted(counts):
            have = db.count()
            if count > have:
                db.copy_image(base, count - have)
            have = db.count()
            for repeat in range(repeats):
                LOG.info('P2: %d images, run %d of %d: %d uploads of each '
                         'kind', have, repeat + 1, repeats, uploads)
                targets = db.copy_image(queued, 2 * uploads)
                uploaded = list(targets)
                seconds = {'base_ref': [], 'store': []}
                kinds = ['base_ref', 'store']
                for index in range(uploads):
                    for kind in kinds if index % 2 == 0 else kinds[::-1]:
                        client, store = by_kind[kind]
                        image_id = targets.pop()
                        seconds[kind].append(
                            _timed_upload(client, image_id, store))
                        if index == 0:
                            _check_lands(glance, image_id, kind, 'store2')
                runs.append({'images': have, 'repeat': repeat,
                             'seconds': seconds})
                db.delete(uploaded)
    return runs


def _check_lands(glance, image_id, kind, store):
    where = glance.where(image_id)
    if where['stores'] != store:
        raise BenchError('P2: a %s upload landed in %r, not %r: the '
                         'Glance measured does not decide as patched'
                         % (kind, where['stores'], store))


def p2_rows(runs):
    rows = []
    counts = sorted(set(r['images'] for r in runs))
    for count in counts:
        these = [r for r in runs if r['images'] == count]
        for q, name in ((0.5, 'p50'), (0.95, 'p95')):
            rows.append(Row(
                'P2', '%s base ref/store header, %d images' % (name, count),
                [percentile(r['seconds']['base_ref'], q) /
                 percentile(r['seconds']['store'], q) for r in these],
                at_most=TARGETS['latency_ratio'] if q == 0.5 else None))
        rows.append(Row(
            'P2', 'p50 base ref - store header, %d images' % count,
            [(percentile(r['seconds']['base_ref'], 0.5) -
              percentile(r['seconds']['store'], 0.5)) * 1000 for r in these],
            unit='ms'))
        for kind in ('base_ref', 'store'):
            rows.append(Row(
                'P2', 'p50 %s upload, %d images' % (
                    kind.replace('_', ' '), count),
                [percentile(r['seconds'][kind], 0.5) * 1000 for r in these],
                unit='ms'))
    if len(counts) > 1:
        # Growth of the decision's share, run by run: uploads get slower
        # as the database grows whatever the header, so compare the
        # base ref/store ratio at many images with the one at few.
        few, many = counts[0], counts[-1]
        ratio = dict((c, [percentile(r['seconds']['base_ref'], 0.5) /
                          percentile(r['seconds']['store'], 0.5)
                          for r in runs if r['images'] == c])
                     for c in counts)
        rows.append(Row(
            'P2', 'p50 ratio at %d images / at %d' % (many, few),
            [m / f for m, f in zip(ratio[many], ratio[few])],
            at_most=TARGETS['growth_ratio']))
    return rows


# -- P3: co-location copies against cp ---------------------------------------

def _cp_seconds(source, folder):
    """``cp`` of ``source`` into ``folder``, until the copy is on disk.

    Dirty pages of earlier writes are flushed first, untimed, so that
    ``cp`` pays for its own bytes only.
    """
    target = os.path.join(folder, 'cp-copy')
    subprocess.run(['sync'], check=True)
    start = time.perf_counter()
    subprocess.run(['cp', source, target], check=True)
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    seconds = time.perf_counter() - start
    os.unlink(target)
    return seconds


def run_p3(glance_side, work_dir, size, repeats, poll=0.2, timeout=600):
    """Per target store: seconds from the upload's answer to its copy."""
    runs = []
    with _glance_with_base(glance_side, work_dir, 'p3') as parts:
        server, glance, base = parts
        admin = glance.client(roles=('admin',))
        admin.images.image_import(
            base, method='copy-image',
            stores=[s for s in realglance.WRITABLE_STORES if s != 'store2'])
        # NOTE: Glance takes the base image's store of the highest weight,
        # then of the lowest id; the stores here weigh the same.
        landing = min(realglance.WRITABLE_STORES)
        others = [s for s in realglance.WRITABLE_STORES if s != landing]
        if sorted(glance.where(base)['stores'].split(',')) != \
                sorted(realglance.WRITABLE_STORES):
            raise BenchError('P3: the base image was not copied into %s'
                             % ', '.join(others))
        client = glance.client(headers={scenarios.BASE_REF: base})
        poller = glance.client(None)
        for repeat in range(repeats):
            LOG.info('P3: run %d of %d: %s upload, copies into %s',
                     repeat + 1, repeats, format_size(size),
                     ', '.join(others))
            image_id = glance.new_image(name='p3')
            client.images.upload(image_id, benchmeasure.GeneratedImage(size))
            answered = time.perf_counter()
            done = {}
            while len(done) < len(others):
                image = poller.images.get(image_id)
                now = time.perf_counter()
                stores = image.get('stores', '').split(',')
                if landing not in stores:
                    raise BenchError('P3: the upload landed in %r, not in '
                                     '%s with its base: the Glance '
                                     'measured does not decide as patched'
                                     % (image.get('stores'), landing))
                for store in stores:
                    if store in others and store not in done:
                        done[store] = now - answered
                if image.get('os_glance_failed_import'):
                    raise BenchError('P3: the copy into %s failed; see %s'
                                     % (image['os_glance_failed_import'],
                                        server.log_path))
                if now - answered > timeout:
                    raise BenchError('P3: the copies did not finish within '
                                     '%ds; see %s' % (timeout,
                                                      server.log_path))
                time.sleep(poll)
            glance.where(image_id)
            cp = _cp_seconds(os.path.join(server.store_dir(landing),
                                          image_id),
                             server.store_dir(others[0]))
            runs.append({'repeat': repeat, 'bytes': size,
                         'copy_seconds': done, 'cp_seconds': cp,
                         'poll_seconds': poll})
            admin.images.delete(image_id)
    return runs


def p3_rows(runs):
    rows = []
    stores = sorted(set(s for r in runs for s in r['copy_seconds']))
    for store in stores:
        rows.append(Row(
            'P3', 'copy into %s / cp, %s' % (store,
                                             format_size(runs[0]['bytes'])),
            [r['cp_seconds'] / r['copy_seconds'][store] for r in runs],
            at_least=TARGETS['copy_vs_cp'],
            note='throughput ratio; the copy is timed from the upload '
            'response, polled every %gs; cp until fsync' %
            runs[0]['poll_seconds']))
        rows.append(Row('P3', 'copy into %s' % store,
                        [r['bytes'] / r['copy_seconds'][store] / MiB
                         for r in runs], unit='MiB/s'))
    rows.append(Row('P3', 'cp', [r['bytes'] / r['cp_seconds'] / MiB
                                 for r in runs], unit='MiB/s'))
    return rows


# -- P4: verify wall time ----------------------------------------------------

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
        raise BenchError('P4: verify %s (%s caches) failed: %s' % (
            report.project, cache, report.error or 'see its test log'))
    return {'project': report.project, 'cache': cache,
            'seconds': report.seconds, 'steps': dict(report.steps)}


def p4_rows(runs):
    rows = []
    for cache in ('cold', 'warm', WARM_REUSED):
        these = [r for r in runs if r['cache'] == cache]
        for run in these:
            step = max(run['steps'], key=run['steps'].get)
            rows.append(Row('P4', 'verify %s, %s' % (run['project'], cache),
                            [run['seconds']], unit='s',
                            note='longest step: %s (%.0fs)' % (
                                step, run['steps'][step])))
        if these:
            rows.append(Row(
                'P4', 'verify, all projects, %s' % cache,
                [sum(r['seconds'] for r in these)], unit='s',
                at_most=TARGETS['verify_warm_s'] if cache == 'warm'
                else None))
    return rows


# -- the command -------------------------------------------------------------

def prepare(projects, cache_dir, install_system_deps):
    """The trees of ``projects`` patched and installed, as verify makes them.

    :returns: ``{project: table.Side}``.
    """
    sides = {}
    for project in projects:
        LOG.info('bench: preparing %s (tree, environment, series)', project)
        report = verify_mod.verify_project(
            project, cache_dir, install_system_deps=install_system_deps,
            run_tests=False)
        sides[project] = _side(report)
    return sides


def _side(report):
    if report.error:
        raise BenchError('%s: %s' % (report.project, report.error))
    if not report.side.patched:
        raise BenchError('%s: its series is empty; there is nothing to '
                         'compare' % report.project)
    return report.side


def run(figures, cache_dir, work_dir, sizes, repeats, p2_counts=(10, 10000),
        p2_uploads=200, p3_size=512 * MiB, install_system_deps=False):
    """Measure ``figures``; returns the JSON-ready results."""
    started = time.monotonic()
    results = {'machine': machine(), 'figures': {}, 'rows': [],
               'started': datetime.datetime.now(datetime.timezone.utc)
               .isoformat(timespec='seconds'),
               'config': {'figures': list(figures), 'repeats': repeats,
                          'sizes': sizes, 'p2_counts': list(p2_counts),
                          'p2_uploads': p2_uploads, 'p3_size': p3_size},
               'targets': TARGETS}
    rows = []
    sides = {}
    if 'p4' in figures:
        runs, reports = run_p4(cache_dir, work_dir, target_mod.PROJECTS,
                               install_system_deps)
        results['figures']['p4'] = runs
        rows += p4_rows(runs)
        sides = dict((p, _side(r)) for p, r in reports.items())
    needed = sorted(set(p for f in figures for p in NEEDS[f]) - set(sides))
    sides.update(prepare(needed, cache_dir, install_system_deps))
    if 'p1' in figures:
        runs = run_p1(sides, sizes, repeats)
        results['figures']['p1'] = runs
        rows = p1_rows(runs, sizes) + rows
    if 'p2' in figures:
        runs = run_p2(sides['glance'], work_dir, p2_counts, p2_uploads,
                      repeats)
        results['figures']['p2'] = runs
        rows += p2_rows(runs)
    if 'p3' in figures:
        runs = run_p3(sides['glance'], work_dir, p3_size, repeats)
        results['figures']['p3'] = runs
        rows += p3_rows(runs)
    rows.sort(key=lambda r: r.figure)
    results['rows'] = [r.as_dict() for r in rows]
    results['table'] = format_table(rows)
    results['seconds'] = round(time.monotonic() - started, 1)
    return results, rows


def describe_machine(info):
    """One line about the machine, for the table's heading.

    >>> describe_machine({'cpu': 'X', 'cores': 2, 'memory_gib': 23.4,
    ...                      'python': '3.11.7', 'kernel': '6.1'})
    'X, 2 cores, 23.4 GiB, Linux 6.1, Python 3.11.7'
    """
    return '%s, %s cores, %s GiB, Linux %s, Python %s' % (
        info.get('cpu', 'unknown CPU'), info.get('cores', '?'),
        info.get('memory_gib', '?'), info.get('kernel', '?'),
        info.get('python', '?'))


def _counts(option, text):
    """``'10,10000'`` -> ``[10, 10000]``; anything else names ``option``.

    >>> _counts('--p2-images', '10, 10000')
    [10, 10000]
    """
    try:
        counts = [int(c) for c in text.split(',') if c.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise BenchError('%s takes positive whole numbers separated by '
                         'commas, like 10,10000; not %r' % (option, text))
    return counts


def bench_cmd(args):
    figures = [f.strip().lower() for f in args.figures.split(',') if f]
    for figure in figures:
        if figure not in FIGURES:
            raise BenchError('unknown figure %r; known figures: %s'
                             % (figure, ', '.join(FIGURES)))
    if args.repeats < 1:
        raise BenchError('--repeats must be at least 1, not %d'
                         % args.repeats)
    sizes = [parse_size(s) for s in args.sizes.split(',') if s.strip()]
    counts = _counts('--p2-images', args.p2_images)
    if args.p2_uploads < 1:
        raise BenchError('--p2-uploads must be at least 1, not %d'
                         % args.p2_uploads)
    os.makedirs(args.output, exist_ok=True)
    work_dir = os.path.join(args.cache_dir, 'bench')
    os.makedirs(work_dir, exist_ok=True)
    results, rows = run(figures, args.cache_dir, work_dir, sizes,
                        args.repeats,
                        p2_counts=counts,
                        p2_uploads=args.p2_uploads,
                        p3_size=parse_size(args.p3_size),
                        install_system_deps=args.install_system_deps)
    heading = 'bench %s, %s' % (results['started'],
                                describe_machine(results['machine']))
    text = '%s\n\n%s\n' % (heading, results['table'])
    for name, data in (('bench.json', json.dumps(results, indent=2,
                                                 sort_keys=True) + '\n'),
                       ('bench.rst', text)):
        with open(os.path.join(args.output, name), 'w') as f:
            f.write(data)
    if 'p1' in results['figures']:
        benchplot.plot(results['figures']['p1'],
                       os.path.join(args.output, 'bench.png'), heading)
    print(text)
    print('took %.0fs; results in %s' % (results['seconds'], args.output))
    missed = [r for r in rows if r.met is False]
    for row in missed:
        print('target missed: %s %s: median %s, target %s'
              % (row.figure, row.what, _number(row.spread['median']),
                 row.target))
    return 0


def add_parser(subparsers, common):
    parser = subparsers.add_parser(
        'bench', parents=[common],
        help='measure what the series cost, patched against unpatched')
    parser.add_argument('--figures', default=','.join(FIGURES),
                        help='which figures to measure (default: %(default)s)')
    parser.add_argument('--repeats', type=int, default=3,
                        help='runs of each measurement (default: '
                        '%(default)s)')
    parser.add_argument('--sizes', default='256M,1G,4G',
                        help='P1 image sizes (default: %(default)s)')
    parser.add_argument('--p2-images', default='10,10000',
                        help='P2 image counts in the database (default: '
                        '%(default)s)')
    parser.add_argument('--p2-uploads', type=int, default=200,
                        help='P2 uploads of each kind per run (default: '
                        '%(default)s)')
    parser.add_argument('--p3-size', default='512M',
                        help='P3 image size (default: %(default)s)')
    parser.add_argument('--output', default='bench-results',
                        help='folder for bench.json, bench.rst and '
                        'bench.png (default: %(default)s)')
    parser.add_argument(
        '--install-system-deps', action='store_true',
        help='as for verify: install missing Debian packages')
    parser.set_defaults(func=bench_cmd)
    return parser
