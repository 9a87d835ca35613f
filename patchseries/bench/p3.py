"""P3, co-location: how fast the copies into a base's other stores end.

Timed from the upload's answer until Glance lists each copy, against
``cp`` of the same file on the same disk until it is on disk.
"""

import logging
import os
import subprocess
import time

from patchseries import bench
from patchseries.bench import p2
from patchseries.bench import report
from patchseries.clients import benchmeasure
from patchseries import realglance
from patchseries import scenarios

LOG = logging.getLogger(__name__)


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
    with p2.glance_with_base(glance_side, work_dir, 'p3') as parts:
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
            raise bench.BenchError('P3: the base image was not copied into %s'
                                   % ', '.join(others))
        client = glance.client(headers={scenarios.BASE_REF: base})
        poller = glance.client(None)
        for repeat in range(repeats):
            LOG.info('P3: run %d of %d: %s upload, copies into %s',
                     repeat + 1, repeats, bench.format_size(size),
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
                    raise bench.BenchError(
                        'P3: the upload landed in %r, not in %s with its '
                        'base: the Glance measured does not decide as '
                        'patched' % (image.get('stores'), landing))
                for store in stores:
                    if store in others and store not in done:
                        done[store] = now - answered
                if image.get('os_glance_failed_import'):
                    raise bench.BenchError(
                        'P3: the copy into %s failed; see %s'
                        % (image['os_glance_failed_import'], server.log_path))
                if now - answered > timeout:
                    raise bench.BenchError(
                        'P3: the copies did not finish within %ds; see %s'
                        % (timeout, server.log_path))
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
        rows.append(report.Row(
            'P3', 'copy into %s / cp, %s' % (
                store, bench.format_size(runs[0]['bytes'])),
            [r['cp_seconds'] / r['copy_seconds'][store] for r in runs],
            at_least=bench.TARGETS['copy_vs_cp'],
            note='throughput ratio; the copy is timed from the upload '
            'response, polled every %gs; cp until fsync' %
            runs[0]['poll_seconds']))
        rows.append(report.Row(
            'P3', 'copy into %s' % store,
            [r['bytes'] / r['copy_seconds'][store] / bench.MiB
             for r in runs], unit='MiB/s'))
    rows.append(report.Row(
        'P3', 'cp', [r['bytes'] / r['cp_seconds'] / bench.MiB for r in runs],
        unit='MiB/s'))
    return rows
