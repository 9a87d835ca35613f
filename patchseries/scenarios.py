"""The scenario table: where does each upload land, on fake and real Glance.

Each row prepares its images through a plain glanceclient, performs one
upload the way the row says (a glanceclient call, or the real Nova or
Cinder client code run by :mod:`patchseries.clients`), and then asks
Glance where the image is. The same row functions run against the fake
Glance and against the real one; a row whose answers differ is a defect
of the fake.
"""

import io
import time

from glanceclient import client as glance_client
from glanceclient import exc as glance_exc
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint

from patchseries import glance_identity

BASE_REF = 'X-OpenStack-Base-Image-Ref'
PROJECT = 'projA'
OTHER_PROJECT = 'projB'


class Glance(object):
    """What a row needs of a Glance, fake or real.

    :param url: the endpoint.
    :param store_paths: ``{store id: folder}`` to check data on disk.
    :param recorder: the fake's recorder (None for the real Glance).
    """

    def __init__(self, name, url, store_paths=None, recorder=None):
        self.name = name
        self.url = url
        self.store_paths = store_paths or {}
        self.recorder = recorder

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


def _plain(glance, bases, headers=None, store=None):
    image_id = glance.new_image(name='row')
    answer = glance.upload(image_id, headers=headers, store=store)
    if answer != 'ok':
        return {'answer': answer, 'status': glance.client(None).images.get(
            image_id)['status'], 'stores': ''}
    return dict(glance.where(image_id), answer=answer)


# (name, expected on patched Glance, expected on Glance 33, function)
GLANCE_ROWS = (
    ('no header -> default store', 'store1', 'store1',
     lambda g, b: _plain(g, b)),
    ('store header', 'store3', 'store3',
     lambda g, b: _plain(g, b, store='store3')),
    ('store header beats base ref', 'store1', 'store1',
     lambda g, b: _plain(g, b, headers={BASE_REF: b.two_stores},
                         store='store1')),
    ('base ref -> base stores (co-located)', 'store2,store3', 'store1',
     lambda g, b: _plain(g, b, headers={BASE_REF: b.two_stores})),
    ('garbage base ref -> default', 'store1', 'store1',
     lambda g, b: _plain(g, b, headers={BASE_REF: 'not-an-image'})),
    ('unknown base ref -> default', 'store1', 'store1',
     lambda g, b: _plain(g, b, headers={
         BASE_REF: '00000000-1111-2222-3333-444444444444'})),
    ('foreign private base ref -> default', 'store1', 'store1',
     lambda g, b: _plain(g, b, headers={BASE_REF: b.foreign_private})),
    ('queued base ref -> default', 'store1', 'store1',
     lambda g, b: _plain(g, b, headers={BASE_REF: b.queued})),
    ('unknown store -> 400', 400, 400,
     lambda g, b: _plain(g, b, store='nosuch')),
    ('reserved store -> 400', 400, 'os_glance_staging_store',
     lambda g, b: _plain(g, b, store='os_glance_staging_store')),
)


def outcome(result):
    """The comparable answer of a row: stores, or the refusal status."""
    if result.get('answer') not in (None, 'ok'):
        return result['answer']
    return result['stores']


def run_rows(glance, rows=GLANCE_ROWS):
    """Run ``rows`` against ``glance``: ``{row name: result}``."""
    bases = Bases(glance)
    results = {}
    for name, _patched, _unpatched, func in rows:
        try:
            results[name] = func(glance, bases)
        except Exception as exc:  # a row must report, not stop the table
            results[name] = {'answer': 'error: %s' % exc, 'stores': ''}
    return results


def format_table(columns, rows=GLANCE_ROWS, patched=True):
    """A text table: one line per row, one column per Glance.

    :param columns: ``[(column title, {row name: result})]``.
    """
    header = ['row', 'expected'] + [title for title, _ in columns] + ['']
    lines = [header]
    failures = 0
    for name, expected_patched, expected_unpatched, _ in rows:
        expected = expected_patched if patched else expected_unpatched
        cells = [name, str(expected)]
        ok = True
        for _title, results in columns:
            got = outcome(results.get(name, {}))
            cells.append(str(got))
            ok = ok and got == expected
        cells.append('ok' if ok else 'FAILED')
        failures += not ok
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = '\n'.join('  '.join(c.ljust(w) for c, w in zip(line, widths))
                     .rstrip() for line in lines)
    return text, failures
