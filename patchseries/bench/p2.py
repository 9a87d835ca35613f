"""P2, Glance's decision: what naming a base image costs an upload.

One-byte uploads that name a base image against uploads that name a
store, alternating, on the real patched Glance with few and with many
images in its database: their latency, and the SQL statements each
upload ran (counted in Glance by :mod:`patchseries.glance_sqlcount`).
The target is on the SELECT statements (the reads a base ref adds);
the total, with the explicit BEGIN that oslo.db issues on sqlite (not
on MySQL), is shown without a target.
"""

import collections

import contextlib
import io
import logging
import os
import re
import sqlite3
import statistics
import time
import uuid

from patchseries import bench
from patchseries.bench import report
from patchseries import glance_sqlcount
from patchseries import realglance
from patchseries import scenarios

LOG = logging.getLogger(__name__)


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
            raise bench.BenchError('P2: the image %s is not in %s'
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
def glance_with_base(glance_side, work_dir, figure, count_sql=False):
    """The real patched Glance, with a base image in store2."""
    with realglance.serving(glance_side.bin_dir, work_dir,
                            prefix='bench-%s-' % figure,
                            count_sql=count_sql) as server:
        glance = scenarios.Glance('real', server.url)
        base = glance.new_image(name='base')
        glance.upload(base, b'base image', store='store2')
        yield server, glance, base


def _timed_upload(client, image_id, store=None):
    start = time.perf_counter()
    client.images.upload(image_id, io.BytesIO(b'x'), backend=store)
    return time.perf_counter() - start


class UploadStatements(object):
    """The statements of each upload, from the real Glance's SQL log."""

    def __init__(self, path):
        self.path = path
        self.seen = 0

    def of(self, image_id):
        """The statements of the last data upload to ``image_id``."""
        entries = glance_sqlcount.read_log(self.path)
        new, self.seen = entries[self.seen:], len(entries)
        # NOTE: Glance's version negotiation has taken the /v2 off the
        # path by the time the counter sees it.
        path = '/images/%s/file' % image_id
        for entry in reversed(new):
            if entry['method'] == 'PUT' and entry['path'].endswith(path):
                return entry['statements']
        raise bench.BenchError('P2: the real Glance logged no statements '
                               'for the upload to %s (%s)' % (image_id,
                                                              self.path))


def extra_statements(more, fewer):
    """The statements of ``more`` that ``fewer`` does not run, in order.

    >>> extra_statements(['a', 'b', 'a', 'c'], ['a', 'c'])
    ['b', 'a']
    """
    left = collections.Counter(fewer)
    extra = []
    for statement in more:
        if left[statement]:
            left[statement] -= 1
        else:
            extra.append(statement)
    return extra


def is_select(statement):
    """Tell whether a logged statement reads rows.

    >>> is_select('SELECT images.id AS images_id FROM images')
    True
    >>> is_select('BEGIN')
    False
    """
    return statement.lstrip()[:6].upper() == 'SELECT'


def short_statement(statement):
    """A statement without its column list, for the table's notes.

    >>> short_statement('SELECT images.id AS images_id, images.name AS '
    ...                 'images_name FROM images WHERE images.id = ?')
    'SELECT ... FROM images WHERE images.id = ?'
    >>> short_statement('BEGIN')
    'BEGIN'
    """
    return re.sub(r'^SELECT .*? FROM ', 'SELECT ... FROM ', statement,
                  flags=re.S)


def run_p2(glance_side, work_dir, counts, uploads, repeats):
    """p50 and p95 of one-byte uploads: base ref against store header.

    The two kinds alternate, and each run starts with the same number
    of images: the uploaded ones are deleted after the run.
    """
    runs = []
    with glance_with_base(glance_side, work_dir, 'p2',
                          count_sql=True) as parts:
        server, glance, base = parts
        log = UploadStatements(server.sql_log_path)
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
                statements = {'base_ref': [], 'store': []}
                selects = {'base_ref': [], 'store': []}
                sample = {}
                kinds = ['base_ref', 'store']
                for index in range(uploads):
                    for kind in kinds if index % 2 == 0 else kinds[::-1]:
                        client, store = by_kind[kind]
                        image_id = targets.pop()
                        seconds[kind].append(
                            _timed_upload(client, image_id, store))
                        ran = log.of(image_id)
                        statements[kind].append(len(ran))
                        selects[kind].append(
                            len([s for s in ran if is_select(s)]))
                        sample.setdefault(kind, ran)
                        if index == 0:
                            _check_lands(glance, image_id, kind, 'store2')
                runs.append({'images': have, 'repeat': repeat,
                             'statements': statements,
                             'selects': selects,
                             'extra_statements': extra_statements(
                                 sample['base_ref'], sample['store']),
                             'seconds': seconds})
                db.delete(uploaded)
    return runs


def _check_lands(glance, image_id, kind, store):
    where = glance.where(image_id)
    if where['stores'] != store:
        raise bench.BenchError('P2: a %s upload landed in %r, not %r: the '
                               'Glance measured does not decide as patched'
                               % (kind, where['stores'], store))


def p2_rows(runs):
    rows = []
    counts = sorted(set(r['images'] for r in runs))
    for count in counts:
        these = [r for r in runs if r['images'] == count]
        for q, name in ((0.5, 'p50'), (0.95, 'p95')):
            rows.append(report.Row(
                'P2', '%s base ref/store header, %d images' % (name, count),
                [report.percentile(r['seconds']['base_ref'], q) /
                 report.percentile(r['seconds']['store'], q) for r in these],
                at_most=bench.TARGETS['latency_ratio'] if q == 0.5 else None))
        rows.append(report.Row(
            'P2', 'p50 base ref - store header, %d images' % count,
            [(report.percentile(r['seconds']['base_ref'], 0.5) -
              report.percentile(r['seconds']['store'], 0.5)) * 1000
             for r in these],
            unit='ms'))
        for kind in ('base_ref', 'store'):
            rows.append(report.Row(
                'P2', 'p50 %s upload, %d images' % (
                    kind.replace('_', ' '), count),
                [report.percentile(r['seconds'][kind], 0.5) * 1000
                 for r in these],
                unit='ms'))
        rows += _statement_rows(count, [r for r in these
                                        if r.get('statements')])
    if len(counts) > 1:
        # Growth of the decision's share, run by run: uploads get slower
        # as the database grows whatever the header, so compare the
        # base ref/store ratio at many images with the one at few.
        few, many = counts[0], counts[-1]
        ratio = dict((c, [report.percentile(r['seconds']['base_ref'], 0.5) /
                          report.percentile(r['seconds']['store'], 0.5)
                          for r in runs if r['images'] == c])
                     for c in counts)
        rows.append(report.Row(
            'P2', 'p50 ratio at %d images / at %d' % (many, few),
            [m / f for m, f in zip(ratio[many], ratio[few])],
            at_most=bench.TARGETS['growth_ratio']))
        extra = dict((c, [_extra(r, 'selects') for r in runs
                          if r['images'] == c and r.get('selects')])
                     for c in counts)
        if extra[few] and extra[many]:
            rows.append(report.Row(
                'P2', 'SELECT statements base ref - store header, %d '
                'images minus at %d' % (many, few),
                [m - f for m, f in zip(extra[many], extra[few])],
                at_most=0))
    return rows


def _extra(run, counted='statements'):
    return (statistics.median(run[counted]['base_ref']) -
            statistics.median(run[counted]['store']))


def _statement_rows(count, runs):
    """What the SQL log says of the uploads at ``count`` images."""
    if not runs:
        return []
    rows = []
    for kind in ('base_ref', 'store'):
        rows.append(report.Row(
            'P2', 'SQL statements per %s upload, %d images' % (
                kind.replace('_', ' '), count),
            [statistics.median(r['statements'][kind]) for r in runs],
            note='median of the run'))
    extra = runs[0]['extra_statements']
    rows.append(report.Row(
        'P2', 'SQL statements base ref - store header, %d images' % count,
        [_extra(r) for r in runs],
        note='with BEGIN (sqlite only), no target; the extra statements: '
        '%s' % (' | '.join(short_statement(statement)
                           for statement in extra) or 'none')))
    # NOTE: Runs recorded before the SELECTs were counted have no row.
    counted = [r for r in runs if r.get('selects')]
    if counted:
        extra_selects = ' | '.join(short_statement(statement)
                                   for statement in extra
                                   if is_select(statement))
        rows.append(report.Row(
            'P2', 'SELECT statements base ref - store header, %d images'
            % count, [_extra(r, 'selects') for r in counted],
            at_most=bench.TARGETS['extra_selects'],
            note='the extra SELECTs: %s' % (extra_selects or 'none')))
    return rows
