"""P3, copies between stores: how fast an image gets into two more stores.

Side by side in one run, on the same machine and the same image sizes:

- upstream: copy-image of an image in store1 into store2 and store3, on
  a real Glance that runs the unpatched tree (its source is exported
  from the tree's upstream branch and put ahead of the installed,
  patched one on its Python path);
- ours, copy-image: the same import on the real patched Glance;
- ours, co-location: an upload that follows a base image held in the
  three stores lands in store1 and is then copied into the other two;
- the single-pass limit: the image file read, hashed with md5 and
  sha512 and written again once, in one Python loop, by the bench
  itself;
- two single passes at once, one thread per target store: what this
  machine gives any copy that hashes each store's bytes itself, as
  glance_store's ``add`` does. On two cores that share their execution
  units (sibling threads of one physical core, or a host that caps the
  guest), it is well short of twice the single pass.

Dirty pages of earlier writes (the upload of the image, the previous
copy) are flushed before a copy-image and before the limit, untimed, so
that neither pays for the writeback of bytes it did not write; a
co-location copy starts as its upload ends and is timed as it comes.
Beside the wall time, the CPU seconds Glance spends on each copy (its
gunicorn processes, all threads, from ``/proc``) and those of the limit
are recorded. They show the work a copy does per byte and store, which
the load of a shared machine changes far less than the wall time.

Both Glances run with ``[image_import_opts] max_parallel_stores = 3``
(upstream's copy-image ignores it). A copy is timed from the answer of
the request that starts it (the import call, or the upload) until
Glance's database holds both copies, polled there (see
:class:`_Locations`) and then confirmed by its API. ``cp`` of the same
file, until it is on disk, is shown for scale.
"""

import contextlib
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time

from patchseries import bench
from patchseries.bench import report
from patchseries.clients import benchmeasure
from patchseries import git
from patchseries import realglance
from patchseries import scenarios
from patchseries import tree as tree_mod

LOG = logging.getLogger(__name__)

TARGETS = ('store2', 'store3')
SOURCE = 'store1'
PARALLEL_STORES = 3
KINDS = ('upstream', 'copy', 'colocation')
# The chunk of the single-pass limit's loop.
LIMIT_CHUNK = 1 << 20


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


def _sync():
    subprocess.run(['sync'], check=True)


def _single_pass(source, target, chunk):
    """Read ``source``; md5, sha512 and write each chunk to ``target``."""
    md5 = hashlib.md5(usedforsecurity=False)
    sha512 = hashlib.sha512()
    with open(source, 'rb') as src, open(target, 'wb') as dst:
        while True:
            buf = src.read(chunk)
            if not buf:
                break
            md5.update(buf)
            sha512.update(buf)
            dst.write(buf)


def single_pass_seconds(source, target, chunk=LIMIT_CHUNK):
    """Read ``source``, md5 and sha512 it and write it to ``target``.

    One Python loop over the bytes, what one store write of Glance's
    filesystem store does at best; the file is removed again.

    :returns: wall seconds and CPU seconds of the loop
    """
    _sync()
    cpu = time.process_time()
    start = time.perf_counter()
    _single_pass(source, target, chunk)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    os.unlink(target)
    return seconds, cpu


def parallel_passes_seconds(source, targets, chunk=LIMIT_CHUNK):
    """The single-pass loop into each of ``targets``, all at once.

    One thread per target, each reading ``source`` itself (from the page
    cache); md5, sha512 and the writes release the GIL.

    :returns: wall seconds until the last one is done
    """
    _sync()
    errors = []

    def one(target):
        try:
            _single_pass(source, target, chunk)
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=one, args=(t,)) for t in targets]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    for target in targets:
        if os.path.exists(target):
            os.unlink(target)
    if errors:
        raise bench.BenchError('P3: two single passes at once: %s'
                               % errors[0])
    return seconds


@contextlib.contextmanager
def upstream_source(glance_side, work_dir):
    """The unpatched Glance source, exported from the tree's upstream branch.

    The patched tree stays as it is: the unpatched Glance imports this
    copy instead.
    """
    folder = tempfile.mkdtemp(prefix='bench-p3-upstream-', dir=work_dir)
    try:
        repo = git.Repo(glance_side.tree_path)
        branch = tree_mod.upstream_branch(glance_side.release.label)
        archive = os.path.join(folder, 'upstream.tar')
        repo.run('archive', '--format=tar', '-o', archive, branch)
        subprocess.run(['tar', '-xf', archive, '-C', folder], check=True)
        os.unlink(archive)
        if not os.path.isdir(os.path.join(folder, 'glance')):
            raise bench.BenchError('P3: the upstream branch %s of %s has no '
                                   'glance package' % (branch,
                                                       glance_side.tree_path))
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class _Locations(object):
    """Which stores hold an image, read from the real Glance's sqlite file.

    Asking the API every few milliseconds would load the Glance being
    timed: each GET runs Glance's Python in the process that copies,
    taking the GIL from its copy threads, and glanceclient's in this
    one. A read of the database file costs Glance nothing (a writer
    waits for it at most as long as one ``SELECT``); the API is asked
    once, when the database shows the copies.
    """

    def __init__(self, path):
        self.db = sqlite3.connect('file:%s?mode=ro' % path, uri=True,
                                  timeout=30)

    def close(self):
        self.db.close()

    def stores(self, image_id):
        """The stores of the image's active locations."""
        stores = set()
        for (meta,) in self.db.execute(
                "SELECT meta_data FROM image_locations WHERE image_id = ? "
                "AND deleted = 0 AND status = 'active'", (image_id,)):
            store = json.loads(meta or '{}').get('store')
            if store:
                stores.add(store)
        return stores

    def failed(self, image_id):
        """The image's os_glance_failed_import, or an empty string."""
        row = self.db.execute(
            "SELECT value FROM image_properties WHERE image_id = ? AND "
            "name = 'os_glance_failed_import' AND deleted = 0",
            (image_id,)).fetchone()
        return row[0] if row else ''


def _wait_for(side, image_id, started, want):
    """Seconds from ``started`` until the image is in the ``want`` stores.

    :returns: the seconds, and the stores the API lists then
    """
    while True:
        now = time.perf_counter()
        if set(want) <= side.locations.stores(image_id):
            seconds = now - started
            break
        failed = side.locations.failed(image_id)
        if failed:
            raise bench.BenchError(
                'P3: the copy into %s failed; see %s'
                % (failed, side.server.log_path))
        if now - started > side.timeout:
            raise bench.BenchError(
                'P3: the copies did not finish within %ds; see %s'
                % (side.timeout, side.server.log_path))
        time.sleep(side.poll)
    stores = side.poller.images.get(image_id).get('stores', '').split(',')
    if not set(want) <= set(stores):
        raise bench.BenchError(
            'P3: the database of %s holds the copies in %s, its API lists '
            '%s' % (side.server.url, ', '.join(want), stores))
    return seconds, stores


class _Side(object):
    """One real Glance of P3 and what it measures."""

    def __init__(self, server, poll, timeout):
        self.server = server
        self.glance = scenarios.Glance('real', server.url)
        self.admin = self.glance.client(roles=('admin',))
        self.poller = self.glance.client(None)
        self.poll = poll
        self.timeout = timeout
        self.base = None
        self.locations = _Locations(server.db_path)

    def make_base(self):
        """A base image in the three stores, landing in store1."""
        base = self.glance.new_image(name='base')
        self.glance.upload(base, b'base image', store=SOURCE)
        self.admin.images.image_import(base, method='copy-image',
                                       stores=list(TARGETS))
        self.glance.where(base)
        if sorted(self.glance.where(base)['stores'].split(',')) != \
                sorted(realglance.WRITABLE_STORES):
            raise bench.BenchError('P3: the base image was not copied into '
                                   '%s' % ', '.join(TARGETS))
        self.base = base

    def copy_seconds(self, size):
        """copy-image of an image in store1 into the two others.

        :returns: the image, wall seconds and Glance's CPU seconds
        """
        image_id = self.glance.new_image(name='p3')
        self.glance.client().images.upload(
            image_id, benchmeasure.GeneratedImage(size), backend=SOURCE)
        _sync()
        cpu = self.server.cpu_seconds()
        self.admin.images.image_import(image_id, method='copy-image',
                                       stores=list(TARGETS))
        started = time.perf_counter()
        seconds, _ = _wait_for(self, image_id, started, TARGETS)
        return image_id, seconds, self.server.cpu_seconds() - cpu

    def colocation_seconds(self, size):
        """An upload that follows the base, until its two copies are there."""
        image_id = self.glance.new_image(name='p3')
        client = self.glance.client(headers={scenarios.BASE_REF: self.base})
        client.images.upload(image_id, benchmeasure.GeneratedImage(size))
        started = time.perf_counter()
        cpu = self.server.cpu_seconds()
        seconds, stores = _wait_for(self, image_id, started, TARGETS)
        if SOURCE not in stores:
            raise bench.BenchError(
                'P3: the upload landed in %r, not in %s with its base: the '
                'Glance measured does not decide as patched' % (stores,
                                                                SOURCE))
        return image_id, seconds, self.server.cpu_seconds() - cpu

    def done(self, image_id):
        self.glance.where(image_id)
        self.admin.images.delete(image_id)

    def copied_directly(self):
        """Whether this Glance logged a direct copy (ours does)."""
        try:
            with open(os.path.join(self.server.root, 'glance-api.log'),
                      errors='replace') as f:
                return 'directly to stores' in f.read()
        except OSError:
            return False


def run_p3(glance_side, work_dir, sizes, repeats, poll=0.05, timeout=1200):
    """Per size and run: seconds of each kind of copy, the limit and cp."""
    runs = []
    serve = realglance.serving
    with contextlib.ExitStack() as stack:
        upstream_dir = stack.enter_context(upstream_source(glance_side,
                                                           work_dir))
        sides = {
            'upstream': _Side(stack.enter_context(serve(
                glance_side.bin_dir, work_dir, prefix='bench-p3-upstream-',
                parallel_stores=PARALLEL_STORES, source_dir=upstream_dir)),
                poll, timeout),
            'patched': _Side(stack.enter_context(serve(
                glance_side.bin_dir, work_dir, prefix='bench-p3-',
                parallel_stores=PARALLEL_STORES)), poll, timeout),
        }
        for side in sides.values():
            # NOTE: closed before its Glance stops and its folder goes.
            stack.callback(side.locations.close)
        sides['patched'].make_base()
        for size in sizes:
            for repeat in range(repeats):
                LOG.info('P3: %s, run %d of %d: upstream copy-image, our '
                         'copy-image, our co-location, single pass',
                         bench.format_size(size), repeat + 1, repeats)
                kinds = list(KINDS) if repeat % 2 == 0 else list(KINDS)[::-1]
                seconds, cpu = {}, {}
                for kind in kinds:
                    side = sides['upstream' if kind == 'upstream'
                                 else 'patched']
                    if kind == 'colocation':
                        image_id, seconds[kind], cpu[kind] = (
                            side.colocation_seconds(size))
                    else:
                        image_id, seconds[kind], cpu[kind] = (
                            side.copy_seconds(size))
                    if kind == 'copy':
                        source = os.path.join(
                            side.server.store_dir(SOURCE), image_id)
                        seconds['single_pass'], cpu['single_pass'] = (
                            single_pass_seconds(source, os.path.join(
                                side.server.store_dir(TARGETS[0]),
                                'single-pass')))
                        seconds['parallel_passes'] = parallel_passes_seconds(
                            source, [os.path.join(side.server.store_dir(t),
                                                  'single-pass')
                                     for t in TARGETS])
                        seconds['cp'] = _cp_seconds(
                            source, side.server.store_dir(TARGETS[0]))
                    side.done(image_id)
                runs.append({'repeat': repeat, 'bytes': size,
                             'seconds': seconds, 'cpu_seconds': cpu,
                             'poll_seconds': poll,
                             'load': os.getloadavg()})
        if sides['upstream'].copied_directly():
            raise bench.BenchError('P3: the unpatched Glance copied directly: '
                                   'it ran the patched code')
        if not sides['patched'].copied_directly():
            raise bench.BenchError('P3: the patched Glance never copied '
                                   'directly; see %s'
                                   % sides['patched'].server.log_path)
    return runs


_NAMES = {'upstream': 'upstream copy-image', 'copy': 'our copy-image',
          'colocation': 'our co-location', 'single_pass': 'single-pass limit',
          'parallel_passes': 'two single passes at once', 'cp': 'cp'}


def p3_rows(runs):
    rows = []
    for size in sorted(set(r['bytes'] for r in runs)):
        these = [r for r in runs if r['bytes'] == size]
        label = bench.format_size(size)

        def speed(kind):
            return [r['bytes'] / r['seconds'][kind] / bench.MiB
                    for r in these]

        kinds = ['upstream', 'copy', 'colocation', 'single_pass', 'cp']
        # Runs of before the parallel passes were measured have none.
        parallel = all('parallel_passes' in r['seconds'] for r in these)
        if parallel:
            kinds.insert(4, 'parallel_passes')
        for kind in kinds:
            rows.append(report.Row(
                'P3', '%s, %s' % (_NAMES[kind], label), speed(kind),
                unit='MiB/s',
                note='into %s from %s' % (' and '.join(TARGETS), SOURCE)
                if kind in KINDS else ''))
        for kind in ('copy', 'colocation'):
            rows.append(report.Row(
                'P3', '%s / upstream copy-image, %s' % (_NAMES[kind], label),
                [r['seconds']['upstream'] / r['seconds'][kind]
                 for r in these],
                at_least=bench.TARGETS['copy_vs_upstream'],
                note='throughput ratio; database polled every %gs'
                % these[0]['poll_seconds']))
            rows.append(report.Row(
                'P3', '%s / single-pass limit, %s' % (_NAMES[kind], label),
                [r['seconds']['single_pass'] / r['seconds'][kind]
                 for r in these],
                at_least=bench.TARGETS['copy_vs_single_pass']))
            if parallel:
                rows.append(report.Row(
                    'P3', '%s / two single passes at once, %s' % (
                        _NAMES[kind], label),
                    [r['seconds']['parallel_passes'] / r['seconds'][kind]
                     for r in these],
                    note='what this machine allows a copy that hashes '
                    'each store itself'))
        if parallel:
            rows.append(report.Row(
                'P3', 'two single passes at once / single-pass limit, %s'
                % label,
                [r['seconds']['single_pass'] / r['seconds']['parallel_passes']
                 for r in these],
                note='1.0: the second pass came free (two cores); 0.5: '
                'it waited for the first'))
        rows += _cpu_rows(these, label)
    return rows


def _cpu_rows(runs, label):
    """CPU seconds per GiB written into one store, and against the limit.

    Runs measured before CPU seconds were recorded have none of these.
    """
    if not all('cpu_seconds' in r for r in runs):
        return []
    rows = []

    def per_store(run, kind):
        stores = 1 if kind == 'single_pass' else len(TARGETS)
        return run['cpu_seconds'][kind] / stores / (run['bytes'] / bench.GiB)

    for kind in ('upstream', 'copy', 'colocation', 'single_pass'):
        rows.append(report.Row(
            'P3', '%s, CPU s per GiB and store, %s' % (_NAMES[kind], label),
            [per_store(r, kind) for r in runs], unit='s',
            note='Glance\'s processes' if kind in KINDS else 'the loop'))
    for kind in KINDS:
        rows.append(report.Row(
            'P3', '%s CPU per store / single-pass limit CPU, %s' % (
                _NAMES[kind], label),
            [per_store(r, kind) / per_store(r, 'single_pass')
             for r in runs],
            note='1.0: the work of one hashed pass per store'))
    return rows
