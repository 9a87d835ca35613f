"""The scenario table: where does each upload land, on fake and real Glance.

Each row prepares its images through a plain glanceclient, performs one
upload the way the row says (a glanceclient call, or the real Nova or
Cinder client code run by :mod:`patchseries.clients`), and then asks
Glance where the image is. The same row functions run against the fake
Glance and against the real one; a row whose answers differ is a defect
of the fake.
"""

import io
import logging
import time

from patchseries import clients

from glanceclient import client as glance_client
from glanceclient import exc as glance_exc
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint

from patchseries import glance_identity

LOG = logging.getLogger(__name__)

BASE_REF = 'X-OpenStack-Base-Image-Ref'
PROJECT = 'projA'
OTHER_PROJECT = 'projB'


class Glance(object):
    """What a row needs of a Glance, fake or real.

    :param url: the endpoint.
    :param recorder: the fake's recorder (None for the real Glance).
    """

    def __init__(self, name, url, recorder=None, faults=None, images=None):
        self.name = name
        self.url = url
        self.recorder = recorder
        self.faults = faults
        # The fake's image store, for states an API cannot make (an
        # image whose data is only in a read-only store).
        self.images = images

    def client(self, project=PROJECT, roles=('member', 'reader'),
               headers=None):
        if project is None:
            auth = noauth.NoAuth(endpoint=self.url)
        else:
            auth = token_endpoint.Token(
                self.url, glance_identity.make_token(project, roles=roles))
        return glance_client.Client(
            '2', session=ks_session.Session(auth=auth),
            endpoint_override=self.url, additional_headers=headers or {})

    def new_image(self, project=PROJECT, **props):
        props.setdefault('disk_format', 'raw')
        props.setdefault('container_format', 'bare')
        return self.client(project).images.create(**props)['id']

    def upload(self, image_id, data=b'row data', project=PROJECT,
               headers=None, store=None):
        """Upload as Nova does: a client for this one call.

        :returns: ``'ok'`` or the HTTP status of the refusal.
        """
        try:
            self.client(project, headers=headers).images.upload(
                image_id, io.BytesIO(data), backend=store)
        except glance_exc.HTTPException as exc:
            return exc.code
        return 'ok'

    def where(self, image_id, timeout=30.0):
        """The image's stores once no copy is pending (bounded wait).

        A copy is over when no store is pending and Glance released the
        image's import lock; with sqlite, starting the next write before
        that collides with the copy task's last update.
        """
        client = self.client(None)
        deadline = time.monotonic() + timeout
        while True:
            image = client.images.get(image_id)
            pending = image.get('os_glance_importing_to_stores')
            busy = pending or image.get('os_glance_import_task')
            if not busy or time.monotonic() > deadline:
                return {'status': image['status'],
                        'stores': image.get('stores', ''),
                        'pending': pending or '',
                        'failed': image.get('os_glance_failed_import', '')}
            time.sleep(0.2)


class Bases(object):
    """The base images every row may refer to, made once per Glance."""

    def __init__(self, glance):
        self.glance = glance
        self.two_stores = glance.new_image(name='base', visibility='private')
        glance.upload(self.two_stores, b'base image', store='store2')
        admin = glance.client(PROJECT, roles=('admin',))
        admin.images.image_import(self.two_stores, method='copy-image',
                                  stores=['store3'])
        glance.where(self.two_stores)
        self.foreign_private = glance.new_image(
            project=OTHER_PROJECT, name='theirs', visibility='private')
        glance.upload(self.foreign_private, b'theirs', project=OTHER_PROJECT,
                      store='store3')
        self.queued = glance.new_image(name='never uploaded')
        self.read_only_only = None
        if glance.images is not None and 'readonly' in glance.images.stores:
            record = glance.images.create({'name': 'read-only base',
                                           'disk_format': 'raw',
                                           'container_format': 'bare'},
                                          PROJECT)
            glance.images.write(record['id'], io.BytesIO(b'ro'), 'readonly')
            self.read_only_only = record['id']


def _plain(glance, bases, headers=None, store=None):
    image_id = glance.new_image(name='row')
    answer = glance.upload(image_id, headers=headers, store=store)
    if answer != 'ok':
        return {'outcome': answer}
    return {'outcome': glance.where(image_id)['stores']}


class Row(object):
    """One line of the table.

    :param run: ``run(glance, bases, env) -> {'outcome': ...}``.
    :param expect: ``expect(state) -> outcome`` where ``state`` maps a
        project to whether its series is applied.
    :param needs: projects whose client code the row runs.
    :param wire: ``wire(state) -> summary or None``: what the fake must
        have seen on the wire (see :func:`wire_summary`); None: not
        checked.
    """

    def __init__(self, name, run, expect, needs=(), wire=None):
        self.name = name
        self.run = run
        self.expect = expect
        self.needs = tuple(needs)
        self.wire = wire or (lambda state: None)


def _glance_row(name, patched, upstream, **kwargs):
    def expect(state):
        return patched if state.get('glance') else upstream
    return Row(name, lambda g, b, env: _plain(g, b, **kwargs), expect)


GLANCE_ROWS = (
    _glance_row('no header -> default store', 'store1', 'store1'),
    _glance_row('store header', 'store3', 'store3', store='store3'),
    Row('store header beats base ref',
        lambda g, b, env: _plain(g, b, headers={BASE_REF: b.two_stores},
                                 store='store1'),
        lambda state: 'store1'),
    Row('base ref -> base stores (co-located)',
        lambda g, b, env: _plain(g, b, headers={BASE_REF: b.two_stores}),
        lambda state: 'store2,store3' if state.get('glance') else 'store1'),
    _glance_row('garbage base ref -> default', 'store1', 'store1',
                headers={BASE_REF: 'not-an-image'}),
    _glance_row('unknown base ref -> default', 'store1', 'store1',
                headers={BASE_REF: '00000000-1111-2222-3333-444444444444'}),
    Row('foreign private base ref -> default',
        lambda g, b, env: _plain(g, b, headers={BASE_REF: b.foreign_private}),
        lambda state: 'store1'),
    Row('queued base ref -> default',
        lambda g, b, env: _plain(g, b, headers={BASE_REF: b.queued}),
        lambda state: 'store1'),
    # NOTE: Glance's file store cannot be read-only, so the real Glance
    # of the table has no read-only store; the glance series' functional
    # tests cover this case on Glance's own code.
    Row('base ref only in a read-only store -> default',
        lambda g, b, env: (
            _plain(g, b, headers={BASE_REF: b.read_only_only})
            if b.read_only_only else {'outcome': NOT_RUN_READ_ONLY}),
        lambda state: 'store1'),
    _glance_row('unknown store -> 400', 400, 400, store='nosuch'),
    _glance_row('reserved store -> 400', 400, 'os_glance_staging_store',
                store='os_glance_staging_store'),
)


NOT_RUN = 'not run: needs fault injection'
NOT_RUN_READ_ONLY = 'not run: no read-only store here'


def _nova(mode='snapshot', base=True, store=None, fail_first_upload=False):
    def run(glance, bases, env):
        size = 2048
        orders = {'glance_url': glance.url, 'project': PROJECT,
                  'token': glance_identity.make_token(PROJECT),
                  'mode': mode, 'snapshot_store': store, 'size': size,
                  'base_image_ref': bases.two_stores if base else None}
        if fail_first_upload:
            if glance.faults is None:
                return {'outcome': NOT_RUN}
            glance.faults.arm('http_503', kind='upload', count=1)
            orders['num_retries'] = 1
        answer = clients.run_client(env['nova'], 'nova', orders)
        if answer.get('error'):
            error = answer['error']
            if error.startswith('unsupported'):
                return {'outcome': 'unsupported'}
            named = store and store in error and 'snapshot_store' in error
            return {'outcome': 'error naming option and store' if named
                    else 'error: %s' % error[-300:]}
        where = glance.where(answer['image_id'])
        if fail_first_upload:
            image = glance.client(None).images.get(answer['image_id'])
            return {'outcome': '%s, %s of %d bytes' % (
                where['stores'], image.get('size'), size)}
        return {'outcome': where['stores']}
    return run


def _cinder(uploads, auth_strategy='keystone', static=False, threads=1):
    """Upload ``uploads`` through cinder; outcome: their stores, in order.

    An upload is ``(type store or None, from the base image?)``.
    """
    def run(glance, bases, env):
        orders = {'glance_url': glance.url, 'project': PROJECT,
                  'token': glance_identity.make_token(PROJECT),
                  'auth_strategy': auth_strategy, 'static_client': static,
                  'threads': threads,
                  'uploads': [{'store_id': store,
                               'base_image_id': bases.two_stores
                               if from_base else None}
                              for store, from_base in uploads]}
        answer = clients.run_client(env['cinder'], 'cinder', orders)
        if answer.get('error'):
            return {'outcome': 'error: %s' % answer['error'][-300:]}
        stores = []
        for upload in answer['uploads']:
            if upload['error']:
                stores.append('error: %s' % upload['error'][-200:])
            else:
                stores.append(glance.where(upload['image_id'])['stores'])
        return {'outcome': ' | '.join(stores), 'stores': stores}
    return run


def _cinder_concurrent(count):
    mix = ('store1', 'store2', 'store3', None)
    uploads = [(mix[i % len(mix)], False) for i in range(count)]
    inner = _cinder(uploads, static=True, threads=8)

    def run(glance, bases, env):
        result = inner(glance, bases, env)
        if 'stores' not in result:
            return result
        failed = [got for got in result['stores'] if got.startswith('error')]
        if failed:
            # An upload that failed was not misrouted: say what it was.
            return {'outcome': 'errors=%d (%s)' % (len(failed), failed[0])}
        wrong = sum(1 for (store, _), got in zip(uploads, result['stores'])
                    if got != (store or 'store1'))
        return {'outcome': 'misrouted=%d' % wrong if not wrong
                else 'misrouted>0'}
    return run


# The figure: enough uploads on one shared client that a leak or
# a swap between green threads cannot hide.
CONCURRENT_UPLOADS = 200


def _both(state, *projects):
    return all(state.get(p) for p in projects)


CLIENT_ROWS = (
    Row('nova: snapshot of an image-booted server',
        _nova(), lambda st: ('store2,store3' if _both(st, 'nova', 'glance')
                             else 'store1'), needs=('nova',),
        wire=lambda st: 'PUT: base-ref' if st.get('nova') else 'PUT: -'),
    Row('nova: upload retried after a 503 ([glance]num_retries = 1)',
        _nova(fail_first_upload=True),
        lambda st: ('store2,store3, 2048 of 2048 bytes'
                    if _both(st, 'nova', 'glance') else
                    'store1, 2048 of 2048 bytes' if st.get('nova') else
                    'store1, 0 of 2048 bytes'), needs=('nova',),
        wire=lambda st: 'PUT: base-ref' if st.get('nova') else 'PUT: -'),
    Row('nova: boot-from-volume snapshot', _nova(mode='bfv'),
        lambda st: 'store1', needs=('nova',), wire=lambda st: 'PUT: -'),
    Row('nova: [glance]snapshot_store = store3', _nova(store='store3'),
        lambda st: 'store3' if st.get('nova') else 'unsupported',
        needs=('nova',),
        wire=lambda st: ('PUT: base-ref+store=store3' if st.get('nova')
                         else 'no PUT')),
    Row('nova: [glance]snapshot_store = nosuch', _nova(store='nosuch'),
        lambda st: ('error naming option and store' if st.get('nova')
                    else 'unsupported'), needs=('nova',)),
    Row('cinder: volume from image, no type store',
        _cinder([(None, True)]),
        lambda st: 'store2,store3' if st.get('glance') else 'store1',
        needs=('cinder',), wire=lambda st: 'PUT: base-ref'),
    Row('cinder: volume type store beats base ref',
        _cinder([('store3', True)]), lambda st: 'store3', needs=('cinder',),
        wire=lambda st: 'PUT: base-ref+store=store3'),
    Row('cinder: neither', _cinder([(None, False)]), lambda st: 'store1',
        needs=('cinder',), wire=lambda st: 'PUT: -'),
    Row('cinder: shared client, store upload then plain upload',
        _cinder([('store3', False), (None, False)], static=True),
        lambda st: ('store3 | store1' if st.get('cinder')
                    else 'store3 | store3'), needs=('cinder',),
        wire=lambda st: 'PUT: -, store=store3' if st.get('cinder') else None),
    Row('cinder: no keystone session (noauth), type store',
        _cinder([('store3', False)], auth_strategy='noauth'),
        lambda st: 'store3' if st.get('cinder') else 'store1',
        needs=('cinder',),
        wire=lambda st: 'PUT: store=store3' if st.get('cinder') else 'PUT: -'),
    Row('cinder: %d concurrent uploads on one client, mixed stores'
        % CONCURRENT_UPLOADS, _cinder_concurrent(CONCURRENT_UPLOADS),
        lambda st: 'misrouted=0' if st.get('cinder') else 'misrouted>0',
        needs=('cinder',),
        wire=lambda st: ('PUT: -, store=store1, store=store2, store=store3'
                         if st.get('cinder') else None)),
)


def outcome(result):
    """The comparable answer of a row."""
    return result.get('outcome', result.get('error', 'no result'))


def run_rows(glance, rows=GLANCE_ROWS, env=None):
    """Run ``rows`` against ``glance``: ``{row name: result}``.

    With a recorder (the fake), each result also says which of our
    headers the row's requests carried.
    """
    bases = Bases(glance)
    results = {}
    for row in rows:
        first = len(glance.recorder.entries()) if glance.recorder else 0
        try:
            result = row.run(glance, bases, env)
        except Exception as exc:  # a row must report, not stop the table
            result = {'outcome': 'error: %s' % exc}
        if glance.recorder:
            result['wire'] = wire_summary(glance.recorder.entries()[first:])
        LOG.info('%s: %s -> %s', glance.name, row.name, outcome(result))
        results[row.name] = result
    return results


def wire_summary(entries):
    """Which of our headers the requests carried, in a few words.

    >>> wire_summary([{'method': 'PUT', 'path': '/v2/images/x/file',
    ...                'headers': {'x-image-meta-store': 's3'}},
    ...               {'method': 'GET', 'path': '/v2/images/x',
    ...                'headers': {'x-image-meta-store': 's3'}}])
    'PUT: store=s3; leaked on 1 other request(s)'
    """
    puts, leaks = [], 0
    for entry in entries:
        carried = []
        if BASE_REF.lower() in entry['headers']:
            carried.append('base-ref')
        if 'x-image-meta-store' in entry['headers']:
            carried.append('store=%s' % entry['headers']['x-image-meta-store'])
        is_upload = entry['method'] == 'PUT' and entry['path'].endswith(
            '/file')
        if is_upload:
            puts.append('+'.join(carried) or '-')
        elif carried:
            leaks += 1
    text = 'PUT: %s' % ', '.join(sorted(set(puts))) if puts else 'no PUT'
    if leaks:
        text += '; leaked on %d other request(s)' % leaks
    return text


def format_table(columns, state, rows=GLANCE_ROWS):
    """A text table: one line per row, one column per Glance.

    :param columns: ``[(column title, {row name: result})]``; the first
        column's wire summary is shown.
    :returns: ``(text, number of failed rows)``.
    """
    header = (['row', 'expected'] + [title for title, _ in columns] +
              ['wire (%s)' % columns[0][0], ''])
    lines = [header]
    failures = 0
    for row in rows:
        expected = row.expect(state)
        cells = [row.name, str(expected)]
        ok = True
        for _title, results in columns:
            got = outcome(results.get(row.name, {}))
            cells.append(str(got))
            if got not in (NOT_RUN, NOT_RUN_READ_ONLY):
                ok = ok and got == expected
        wire = columns[0][1].get(row.name, {}).get('wire', '')
        expected_wire = row.wire(state)
        if expected_wire is not None and wire != expected_wire:
            ok = False
            wire += ' (expected: %s)' % expected_wire
        cells.append(wire)
        cells.append('ok' if ok else 'FAILED')
        failures += not ok
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = '\n'.join('  '.join(c.ljust(w) for c, w in zip(line, widths))
                     .rstrip() for line in lines)
    return text, failures
