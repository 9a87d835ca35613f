"""The scenario table: where does each upload land, on fake and real Glance.

Each row prepares its images through a plain glanceclient, performs one
upload the way the row says (a glanceclient call, or the real Nova or
Cinder client code run by :mod:`patchseries.clients`), and then asks
Glance where the image is. The same row functions run against the fake
Glance and against the real one; a row whose answers differ is a defect
of the fake.
"""

import hashlib
import io
import logging
import os
import shutil
import tempfile
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

    def __init__(self, name, url, recorder=None, faults=None, images=None,
                 set_policy=None, staging_dir=None, direct_copies=None,
                 parallel_stores=1):
        self.name = name
        self.url = url
        self.recorder = recorder
        self.faults = faults
        # The folder of Glance's staging store.
        self.staging_dir = staging_dir
        # direct_copies(image id): the target stores of each direct copy
        # of the image (Glance commit 11) that Glance logged.
        self.direct_copies = direct_copies
        # Its [image_import_opts] max_parallel_stores.
        self.parallel_stores = parallel_stores
        # The fake's image store, for states an API cannot make (an
        # image whose data is only in a read-only store).
        self.images = images
        # set_policy(rules): replace the server's policy rules ({} puts
        # the defaults back).
        self.set_policy = set_policy

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
        # NOTE: base images are only ever copied with allow_failure (all
        # stores need not succeed): where() says if one failed.
        self.three_stores = glance.new_image(name='base in three stores',
                                             visibility='private')
        glance.upload(self.three_stores, b'base in three', store='store1')
        admin.images.image_import(self.three_stores, method='copy-image',
                                  stores=['store2', 'store3'])
        glance.where(self.three_stores)
        self.read_only_only = None
        if glance.images is not None and 'readonly' in glance.images.stores:
            record = glance.images.create({'name': 'read-only base',
                                           'disk_format': 'raw',
                                           'container_format': 'bare'},
                                          PROJECT)
            glance.images.write(record['id'], io.BytesIO(b'ro'), 'readonly')
            self.read_only_only = record['id']


# The co-location rows need a copy that is still running when they act.
# The fake pauses its copy for COPY_PAUSE seconds after the first chunk;
# the real Glance copies a COPY_SIZE upload (staged, then written, each
# hashed), which lasts seconds, while the row acts within milliseconds
# of seeing it start.
COPY_PAUSE = 2.0
COPY_SIZE = 128 * 1024 * 1024
WAIT = 60.0


def _colocated_upload(glance, bases, base=None):
    """Upload with the base ref; wait until the co-location copy runs.

    :param base: the base image (default: ``bases.two_stores``).

    On the fake, this arms a ``copy`` fault that the caller clears once
    the copy is over.

    :returns: ``(image id, state, copy task id)``; the state is
        ``copying``, ``no copy``, or what went wrong.
    """
    size = COPY_SIZE
    if glance.faults is not None:
        size = 1024 * 1024
        glance.faults.arm('slow', kind='copy', count=1, delay=COPY_PAUSE)
    image_id = glance.new_image(name='row')
    answer = glance.upload(image_id, data=bytes(size),
                           headers={BASE_REF: base or bases.two_stores})
    if answer != 'ok':
        return image_id, 'upload answered %s' % answer, None
    client = glance.client(None)
    deadline = time.monotonic() + WAIT
    while True:
        image = client.images.get(image_id)
        task_id = image.get('os_glance_import_task')
        if image.get('os_glance_importing_to_stores'):
            return image_id, 'copying', task_id
        if not task_id:
            return image_id, ('no copy' if image.get('stores') and
                              ',' not in image['stores']
                              else 'copy over too soon'), None
        if time.monotonic() > deadline:
            return image_id, 'copy not started within %ds: %s' % (
                WAIT, dict((k, image.get(k)) for k in (
                    'status', 'stores', 'os_glance_import_task'))), None
        time.sleep(0.05)


def _clearing_faults(run):
    """Run ``run(glance, bases)``, then disarm what it left armed."""
    def row(glance, bases, env):
        try:
            return run(glance, bases)
        finally:
            if glance.faults is not None:
                glance.faults.clear()
    return row


def _store_dirs(glance):
    """``{store id: folder}`` of the file stores, from Glance itself."""
    admin = glance.client(PROJECT, roles=('admin',))
    return dict((s['id'], s['properties']['data_dir'])
                for s in admin.images.get_stores_info_detail()['stores']
                if s.get('type') == 'file')


def _data_left(dirs, image_id, timeout=WAIT):
    """Wait until no store folder holds data of the image (bounded).

    :returns: ``no data left``, or what is still there at the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        left = []
        for store_id, folder in sorted(dirs.items()):
            for name in os.listdir(folder):
                if name.startswith(image_id):
                    left.append('%s (%d bytes)' % (store_id, os.path.getsize(
                        os.path.join(folder, name))))
        if not left:
            return 'no data left'
        if time.monotonic() > deadline:
            return 'left after %ds: %s' % (timeout, ', '.join(left))
        time.sleep(0.2)


def _wait_task_end(glance, task_id, timeout=WAIT):
    """Let a copy task of a deleted image end before the next row."""
    if not task_id:
        return
    client = glance.client(None)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if client.tasks.get(task_id)['status'] in ('success', 'failure'):
                return
        except glance_exc.HTTPException:
            return
        time.sleep(0.2)


def _copy_writing(glance, dirs, image_id, timeout=WAIT):
    """Wait until the copy writes into a store the image is not in yet.

    Before that the copy only stages the data, and a delete then leaves
    nothing behind in the stores even without the fix.

    :returns: ``copying`` or what was seen instead (bounded wait).
    """
    client = glance.client(None)
    deadline = time.monotonic() + timeout
    while True:
        image = client.images.get(image_id)
        have = (image.get('stores') or '').split(',')
        for store_id, folder in dirs.items():
            if store_id not in have and any(
                    name.startswith(image_id)
                    for name in os.listdir(folder)):
                return 'copying'
        if not image.get('os_glance_importing_to_stores'):
            return 'copy over too soon: %s' % image.get('stores')
        if time.monotonic() > deadline:
            return 'copy wrote nothing within %ds' % timeout
        time.sleep(0.02)


def _upload_then_wait_for_copy(glance, bases, base=None):
    """A co-located upload whose copy is writing, or ``outcome``.

    :returns: ``(store dirs, image id, state, copy task id, outcome)``;
        outcome is None when the row may go on.
    """
    dirs = _store_dirs(glance)
    image_id, state, task_id = _colocated_upload(glance, bases, base)
    if state == 'copying':
        state = _copy_writing(glance, dirs, image_id)
    outcome = None if state in ('copying', 'no copy') else {'outcome': state}
    return dirs, image_id, state, task_id, outcome


def _delete_during_copy(glance, bases, base=None, how=False):
    """Delete the upload while its co-location copy writes.

    :param how: say how the copy went (:func:`_copied_how`) first.
    """
    dirs, image_id, state, task_id, outcome = _upload_then_wait_for_copy(
        glance, bases, base)
    if outcome:
        return outcome
    try:
        glance.client().images.delete(image_id)
    except glance_exc.HTTPException as exc:
        return {'outcome': '%s, delete answered %s' % (state, exc.code)}
    # NOTE: the copy task ends first, so data it writes after the
    # delete is counted too.
    _wait_task_end(glance, task_id)
    left = _data_left(dirs, image_id)
    if how and state != 'no copy':
        state = '%s: %s' % (_copied_how(glance, image_id), state)
    return {'outcome': '%s, deleted, %s' % (state, left)}


# The direct copy of Glance commit 11: with [image_import_opts]
# max_parallel_stores above 1, copy-image (and so every co-location copy)
# reads the image once and writes up to that many stores from that read,
# without staging it. These rows run on a Glance of their own, fake and
# real, started with PARALLEL_STORES (see patchseries.table); a release
# without the commit copies as upstream does there (staged, one store
# after the other), and its rows expect that.
PARALLEL_STORES = 3
# Random data (a copy whose chunks were reordered must not match), in
# several of the direct copy's 1 MiB chunks and a tail.
DIRECT_SIZE = 5 * 1024 * 1024 + 12345
NOT_RUN_PARALLEL = 'not run: needs another max_parallel_stores'
NOT_RUN_COPY_PATH = 'not run: cannot tell how Glance copied here'


def _copied_how(glance, image_id):
    """How Glance copied the image.

    ``direct to <stores>`` for each direct copy Glance logged, else
    ``staged``: the copy path before commit 11, and the only other one
    copy-image has.
    """
    copies = glance.direct_copies(image_id)
    if not copies:
        return 'staged'
    return ' + '.join('direct to %s' % ','.join(sorted(stores))
                      for stores in copies)


def _data_check(dirs, image_id, stores, data):
    """Whether each store's file of the image is ``data``, byte for byte.

    Compared by size, MD5 and SHA-512 with what was uploaded and what
    Glance recorded on the image.

    :returns: ``data ok``, or which store differs.
    """
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    sha = hashlib.sha512(data).hexdigest()
    bad = []
    for store in stores:
        path = os.path.join(dirs[store], image_id)
        if not os.path.isfile(path):
            bad.append('%s: no file' % store)
            continue
        got_md5 = hashlib.md5(usedforsecurity=False)
        got_sha = hashlib.sha512()
        size = 0
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(1024 * 1024), b''):
                got_md5.update(chunk)
                got_sha.update(chunk)
                size += len(chunk)
        if (size, got_md5.hexdigest(), got_sha.hexdigest()) != (
                len(data), md5, sha):
            bad.append('%s differs' % store)
    return 'data: %s' % ', '.join(bad) if bad else 'data ok'


def _recorded_check(image, data):
    """Whether Glance recorded the uploaded data's size and hashes."""
    recorded = (image.get('size'), image.get('checksum'),
                image.get('os_hash_value'))
    if recorded == (len(data), hashlib.md5(data, usedforsecurity=False)
                    .hexdigest(), hashlib.sha512(data).hexdigest()):
        return None
    return 'recorded size or hash differs'


def _staging_check(glance, image_id):
    left = [name for name in os.listdir(glance.staging_dir)
            if name.startswith(image_id)]
    return 'staging empty' if not left else 'left in staging'


def _task_statuses(glance, image_id, timeout=WAIT):
    """The statuses of the image's tasks once none is running.

    :returns: ``tasks: success`` and the like, ``no task``.
    """
    client = glance.client(None)
    deadline = time.monotonic() + timeout
    while True:
        _resp, body = client.http_client.get(
            '/v2/images/%s/tasks' % image_id)
        statuses = [task['status'] for task in body.get('tasks', [])]
        running = [s for s in statuses if s in ('pending', 'processing')]
        if not running or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if not statuses:
        return 'no task'
    return 'tasks: %s' % ','.join(sorted(statuses))


def _copy_image(glance, image_id, stores, allow_failure):
    """An admin's copy-image import: ``202`` or the refusal's status."""
    admin = glance.client(PROJECT, roles=('admin',))
    try:
        admin.images.image_import(image_id, method='copy-image',
                                  stores=stores, allow_failure=allow_failure)
    except glance_exc.HTTPException as exc:
        return exc.code
    return 202


def _needs_copy_path(run):
    """Run ``run(glance, bases)`` where the row can see how Glance copied.

    A row of PARALLEL_STORES runs on a Glance started with it only.
    """
    def row(glance, bases, env):
        if glance.direct_copies is None or glance.staging_dir is None:
            return {'outcome': NOT_RUN_COPY_PATH}
        return run(glance, bases)
    return row


def _direct_upload(glance, **where):
    """A new image with DIRECT_SIZE random bytes, uploaded as ``where`` says.

    :returns: the data, the image id, and the row's outcome if the
              upload failed (else None)
    """
    data = os.urandom(DIRECT_SIZE)
    image_id = glance.new_image(name='row')
    answer = glance.upload(image_id, data=data, **where)
    if answer != 'ok':
        return data, image_id, {'outcome': 'upload answered %s' % answer}
    return data, image_id, None


def _copy_image_row(glance, bases):
    """copy-image of an image in store1 into store2 and store3.

    All stores must succeed. Then: each store's data, nothing in
    staging, the task's status, and a second copy-image (into every
    store; nothing is left to copy) that Glance accepts only once the
    first released the image's import lock.
    """
    dirs = _store_dirs(glance)
    data, image_id, failed = _direct_upload(glance, store='store1')
    if failed:
        return failed
    answer = _copy_image(glance, image_id, ['store2', 'store3'], False)
    if answer != 202:
        return {'outcome': 'copy-image answered %s' % answer}
    where = glance.where(image_id)
    stores = sorted(s for s in where['stores'].split(',') if s)
    checks = [_data_check(dirs, image_id, stores, data),
              _staging_check(glance, image_id),
              _task_statuses(glance, image_id)]
    recorded = _recorded_check(glance.client(None).images.get(image_id),
                               data)
    if recorded:
        checks.append(recorded)
    if where['pending'] or where['failed']:
        checks.append('pending: %s, failed: %s' % (
            where['pending'] or '-', where['failed'] or '-'))
    admin = glance.client(PROJECT, roles=('admin',))
    try:
        admin.images.image_import(image_id, method='copy-image',
                                  all_stores=True)
        checks.append('again: 202')
    except glance_exc.HTTPException as exc:
        checks.append('again: %s' % exc.code)
    return {'outcome': '%s: %s; %s' % (_copied_how(glance, image_id),
                                       ','.join(stores), '; '.join(checks))}


def _colocated_three_row(glance, bases):
    """An upload following a base image in store1, store2 and store3.

    It lands in store1 (the lowest id of the base's stores, all of the
    same weight); its co-location copy writes store2 and store3.
    """
    dirs = _store_dirs(glance)
    data, image_id, failed = _direct_upload(
        glance, headers={BASE_REF: bases.three_stores})
    if failed:
        return failed
    where = glance.where(image_id)
    stores = sorted(s for s in where['stores'].split(',') if s)
    tasks = _task_statuses(glance, image_id)
    how = 'no copy' if tasks == 'no task' else _copied_how(glance, image_id)
    text = '%s: %s; %s; %s' % (how, ','.join(stores),
                               _data_check(dirs, image_id, stores, data),
                               tasks)
    if where['pending'] or where['failed']:
        text += '; pending: %s, failed: %s' % (where['pending'] or '-',
                                               where['failed'] or '-')
    return {'outcome': text}


def _failing_store_row(glance, bases):
    """copy-image into store2 and store3 while store3's folder is gone.

    As a store whose mount went away: every write into it fails (the
    table's Glance runs as root, which a read-only folder would not
    stop). All stores need not succeed. Then the folder is put back and
    the image copied into store3 again, which Glance accepts only once
    the first copy released the import lock.
    """
    dirs = _store_dirs(glance)
    data, image_id, failed = _direct_upload(glance, store='store1')
    if failed:
        return failed
    folder = dirs['store3']
    away = folder + '.away'
    os.rename(folder, away)
    try:
        answer = _copy_image(glance, image_id, ['store2', 'store3'], True)
        if answer != 202:
            return {'outcome': 'copy-image answered %s' % answer}
        where = glance.where(image_id)
        tasks = _task_statuses(glance, image_id)
    finally:
        os.rename(away, folder)
    stores = sorted(s for s in where['stores'].split(',') if s)
    left = ('nothing in store3' if not any(
        name.startswith(image_id) for name in os.listdir(folder))
        else 'data in store3')
    text = '%s: %s, failed: %s; %s; %s; %s' % (
        _copied_how(glance, image_id), ','.join(stores),
        where['failed'] or '-', _data_check(dirs, image_id, stores, data),
        left, tasks)
    answer = _copy_image(glance, image_id, ['store3'], False)
    if answer != 202:
        return {'outcome': '%s; again: %s' % (text, answer)}
    again = glance.where(image_id)
    stores = sorted(s for s in again['stores'].split(',') if s)
    text += '; again: %s, failed: %s, %s' % (
        ','.join(stores), again['failed'] or '-',
        _data_check(dirs, image_id, stores, data))
    return {'outcome': text}


def _delete_during_copy_to_two(glance, bases):
    """Delete an upload while its copy writes two stores at once."""
    try:
        return _delete_during_copy(glance, bases, base=bases.three_stores,
                                   how=True)
    finally:
        if glance.faults is not None:
            glance.faults.clear()


def _update_during_copy(glance, bases):
    _dirs, image_id, state, _task, outcome = _upload_then_wait_for_copy(
        glance, bases)
    if outcome:
        return outcome
    try:
        glance.client().images.update(image_id, row_property='kept',
                                      protected=True, tags=['kept'])
    except glance_exc.HTTPException as exc:
        return {'outcome': '%s, PATCH answered %s' % (state, exc.code)}
    where = glance.where(image_id, timeout=WAIT)
    image = glance.client(None).images.get(image_id)
    kept = [what for what, ok in (
        ('property', image.get('row_property') == 'kept'),
        ('tag', 'kept' in image.get('tags', [])),
        ('protected', image.get('protected') is True)) if ok]
    return {'outcome': '%s, %s, kept: %s' % (
        state, where['stores'], ', '.join(kept) or 'nothing')}


def _reserved_import(stores=None, header=None):
    """A glance-direct import (stage, then import) naming a store."""
    def run(glance, bases, env):
        image_id = glance.new_image(name='row')
        client = glance.client()
        client.images.stage(image_id, io.BytesIO(b'row data'))
        try:
            client.images.image_import(image_id, method='glance-direct',
                                       stores=stores, backend=header)
        except glance_exc.HTTPException as exc:
            return {'outcome': exc.code}
        where = glance.where(image_id)
        text = '202: %s in %s' % (where['status'], where['stores'] or '-')
        if where['failed']:
            text += ', failed: %s' % where['failed']
        return {'outcome': text}
    return run


def _colocation_denied(glance, bases, env):
    """An upload with the base ref while colocate_image is "!"."""
    if glance.set_policy is None:
        return {'outcome': NOT_RUN_POLICY}
    glance.set_policy({'colocate_image': '!'})
    try:
        image_id = glance.new_image(name='row')
        answer = glance.upload(image_id,
                               headers={BASE_REF: bases.two_stores})
        if answer != 'ok':
            return {'outcome': answer}
        where = glance.where(image_id)
        return {'outcome': '%s, failed: %s' % (where['stores'],
                                               where['failed'] or '-')}
    finally:
        glance.set_policy({})


def _plain(glance, bases, headers=None, store=None, props=None):
    image_id = glance.new_image(name='row', **(props or {}))
    answer = glance.upload(image_id, headers=headers, store=store)
    if answer != 'ok':
        return {'outcome': answer}
    return {'outcome': glance.where(image_id)['stores']}


def _snapshot_props(base_ref):
    """What nova.compute.utils.create_image records on a snapshot."""
    return {'base_image_ref': base_ref, 'image_type': 'snapshot',
            'instance_uuid': '5f0c2a8e-3b7d-4e61-9a2f-7c1d0e9b4a36'}


class Row(object):
    """One line of the table.

    :param run: ``run(glance, bases, env) -> {'outcome': ...}``.
    :param expect: ``expect(state) -> outcome`` where ``state`` maps a
        project to whether its series is applied.
    :param needs: projects whose client code the row runs.
    :param wire: ``wire(state) -> summary or None``: what the fake must
        have seen on the wire (see :func:`wire_summary`); None: not
        checked.
    :param glance_alone: also run the row with only the Glance series
        applied (Nova and Cinder as released).
    :param releases: ``{release name: {'expect': ..., 'wire': ...}}``
        where an older release really behaves differently; each key
        replaces the row's own for that release only.
    :param parallel_stores: the ``[image_import_opts]
        max_parallel_stores`` of the Glance the row runs on; a Glance
        started otherwise does not run it.
    """

    def __init__(self, name, run, expect, needs=(), wire=None,
                 glance_alone=False, releases=None, parallel_stores=1):
        self.parallel_stores = parallel_stores
        self.name = name
        self.run = run
        self.expect = expect
        self.needs = tuple(needs)
        self.wire = wire or (lambda state: None)
        self.glance_alone = glance_alone
        self.releases = dict(releases or {})

    def expected(self, state, release=None):
        """What the row must answer in ``state`` on ``release``."""
        expect = self.releases.get(release, {}).get('expect', self.expect)
        return expect(state)

    def expected_wire(self, state, release=None):
        wire = self.releases.get(release, {}).get('wire', self.wire)
        return wire(state)


class Partial(object):
    """A series applied without some of its features (an older release).

    It stands in ``state`` where a fully applied series stands as True:
    it is true, and :func:`has` tells which features it lacks.
    """

    def __init__(self, missing):
        self.missing = frozenset(missing)

    def __bool__(self):
        return True

    def __eq__(self, other):
        return isinstance(other, Partial) and other.missing == self.missing

    def __hash__(self):
        return hash(self.missing)

    def __repr__(self):
        return 'without %s' % ', '.join(sorted(self.missing))


def has(state, project, feature):
    """Whether ``project``'s series is applied in ``state`` with ``feature``.

    >>> has({'glance': True}, 'glance', 'colocation')
    True
    >>> has({'glance': Partial(['colocation'])}, 'glance', 'colocation')
    False
    >>> has({'glance': False}, 'glance', 'colocation')
    False
    """
    applied = state.get(project)
    return bool(applied) and feature not in getattr(applied, 'missing', ())


def landing(state):
    """Where an upload that follows the two-store base image lands.

    >>> landing({'glance': True}), landing({'glance': False})
    ('store2,store3', 'store1')
    >>> landing({'glance': Partial(['colocation'])})
    'store2'
    """
    if not has(state, 'glance', 'base_store_upload'):
        return 'store1'
    if has(state, 'glance', 'colocation'):
        return 'store2,store3'
    return 'store2'


def _property_landing(state):
    return (landing(state) if has(state, 'glance', 'base_ref_property')
            else 'store1')


def _glance_row(name, patched, upstream, **kwargs):
    def expect(state):
        return patched if state.get('glance') else upstream
    return Row(name, lambda g, b, env: _plain(g, b, **kwargs), expect)


def copied_how(state, stores):
    """How a copy into ``stores`` goes with PARALLEL_STORES.

    >>> copied_how({'glance': True}, 'store2,store3')
    'direct to store2,store3'
    >>> copied_how({'glance': Partial(['direct_copy'])}, 'store2,store3')
    'staged'
    >>> copied_how({'glance': False}, 'store2,store3')
    'staged'
    """
    if has(state, 'glance', 'direct_copy'):
        return 'direct to %s' % stores
    return 'staged'


def _parallel_row(name, run, expect):
    return Row('max_parallel_stores = %d: %s' % (PARALLEL_STORES, name),
               _needs_copy_path(run), expect,
               parallel_stores=PARALLEL_STORES)


# Glance commit 11's direct copy, end to end (see PARALLEL_STORES).
DIRECT_COPY_ROWS = (
    _parallel_row(
        'copy-image store1 -> store2, store3: data, staging, lock',
        _copy_image_row,
        lambda state: '%s: store1,store2,store3; data ok; staging empty; '
        'tasks: success; again: 202' % copied_how(state, 'store2,store3')),
    _parallel_row(
        'upload following a base in store1, store2, store3 -> copies land',
        _colocated_three_row,
        lambda state: (
            '%s: store1,store2,store3; data ok; tasks: success'
            % copied_how(state, 'store2,store3')
            if has(state, 'glance', 'colocation') else
            'no copy: store1; data ok; no task')),
    _parallel_row(
        'delete during the co-location copy to two stores -> no data left',
        _delete_during_copy_to_two,
        lambda state: (
            '%s: copying, deleted, no data left'
            % copied_how(state, 'store2,store3')
            if has(state, 'glance', 'colocation') else
            'no copy, deleted, no data left')),
    _parallel_row(
        'copy-image -> store2, store3 with store3 gone, failure allowed',
        _failing_store_row,
        lambda state: '%s: store1,store2, failed: store3; data ok; '
        'nothing in store3; tasks: success; again: store1,store2,store3, '
        'failed: -, data ok' % copied_how(state, 'store2,store3')),
)


GLANCE_ROWS = (
    _glance_row('no header -> default store', 'store1', 'store1'),
    _glance_row('store header', 'store3', 'store3', store='store3'),
    Row('store header beats base ref',
        lambda g, b, env: _plain(g, b, headers={BASE_REF: b.two_stores},
                                 store='store1'),
        lambda state: 'store1'),
    Row('base ref -> base stores (co-located)',
        lambda g, b, env: _plain(g, b, headers={BASE_REF: b.two_stores}),
        landing),
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
    # Every Nova release sets base_image_ref on its snapshots; the glance
    # series uses it when the upload names neither store nor base ref.
    Row('base_image_ref property, no header -> base stores',
        lambda g, b, env: _plain(g, b, props=_snapshot_props(b.two_stores)),
        _property_landing, glance_alone=True),
    Row('store header beats the base_image_ref property',
        lambda g, b, env: _plain(g, b, store='store1',
                                 props=_snapshot_props(b.two_stores)),
        lambda state: 'store1'),
    Row('foreign private base_image_ref property -> default',
        lambda g, b, env: _plain(g, b,
                                 props=_snapshot_props(b.foreign_private)),
        lambda state: 'store1'),
    # The copy-image defects that co-location makes everyone's: the
    # copy must be running when the row acts, whatever the answer.
    Row('delete during the co-location copy -> no data left',
        _clearing_faults(_delete_during_copy),
        lambda state: '%s, deleted, no data left' % (
            'copying' if has(state, 'glance', 'colocation') else 'no copy')),
    Row('PATCH during the co-location copy -> kept',
        _clearing_faults(_update_during_copy),
        lambda state: '%s, %s, kept: property, tag, protected' % (
            'copying' if has(state, 'glance', 'colocation') else 'no copy',
            landing(state))),
    # Glance 33 imported into them: the tasks store kept the data, the
    # staging store left the image importing.
    Row('glance-direct import, stores = [tasks store] -> 400',
        _reserved_import(stores=['os_glance_tasks_store']),
        lambda state: 400 if state.get('glance') else
        '202: active in os_glance_tasks_store'),
    Row('glance-direct import, store header = staging store -> 400',
        _reserved_import(header='os_glance_staging_store'),
        lambda state: 400 if state.get('glance') else
        '202: importing in -, failed: os_glance_staging_store'),
    Row('base ref, colocate_image policy "!" -> upload, no copy',
        _colocation_denied,
        lambda state: (
            'store2, failed: store3' if has(state, 'glance',
                                            'colocate_policy') else
            '%s, failed: -' % landing(state))),
) + DIRECT_COPY_ROWS


NOT_RUN = 'not run: needs fault injection'
NOT_RUN_READ_ONLY = 'not run: no read-only store here'
NOT_RUN_POLICY = 'not run: cannot change the policy here'
NOT_RUN_RECORDER = 'not run: needs the request recorder'


def _nova(mode='snapshot', base=True, store=None, fail_first_upload=False,
          rbd_store=None):
    def run(glance, bases, env):
        size = 2048
        orders = {'glance_url': glance.url, 'project': PROJECT,
                  'token': glance_identity.make_token(PROJECT),
                  'mode': mode, 'snapshot_store': store, 'size': size,
                  'base_image_ref': bases.two_stores if base else None,
                  'rbd_store': rbd_store}
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


def _nova_threads(count, based_every=4):
    """``count`` snapshot uploads at once in one nova process.

    Every ``based_every``-th upload is of an image-booted server (base
    ref), the others of servers whose image nova does not pass. Outcome:
    the stores of each kind; with the fake's recorder, also any upload
    whose header does not match its kind.
    """
    def run(glance, bases, env):
        # NOTE: What this row proves (no header on the wrong request)
        # only the fake's recorder can see. The real Glance of the table
        # (sqlite) answers about 1 in 10 of these uploads with a 500 while
        # the co-location copies of the earlier ones run, even one at a
        # time, which is not what this row is about.
        if glance.recorder is None:
            return {'outcome': NOT_RUN_RECORDER}
        orders = {'glance_url': glance.url, 'project': PROJECT,
                  'token': glance_identity.make_token(PROJECT),
                  'mode': 'threads', 'threads': count,
                  'based_every': based_every, 'size': 1024,
                  'base_image_ref': bases.two_stores}
        first = len(glance.recorder.entries()) if glance.recorder else 0
        answer = clients.run_client(env['nova'], 'nova', orders)
        if answer.get('error'):
            if answer['error'].startswith('unsupported'):
                return {'outcome': 'unsupported'}
            return {'outcome': 'error: %s' % answer['error'][-300:]}
        failed = [u['error'] for u in answer['uploads'] if u['error']]
        if failed:
            return {'outcome': 'errors=%d (%s)' % (len(failed),
                                                   failed[0][-200:])}
        stores = {True: set(), False: set()}
        for upload in answer['uploads']:
            stores[upload['based']].add(
                glance.where(upload['image_id'])['stores'])
        text = 'base: %s; other: %s' % (' | '.join(sorted(stores[True])),
                                        ' | '.join(sorted(stores[False])))
        if glance.recorder:
            based = dict((u['image_id'], u['based'])
                         for u in answer['uploads'])
            wrong = 0
            for entry in glance.recorder.entries()[first:]:
                parts = entry['path'].split('/')
                if entry['method'] == 'PUT' and parts[-1] == 'file':
                    has_ref = BASE_REF.lower() in entry['headers']
                    # Without the series nothing carries the header; with
                    # it, exactly the uploads of image-booted servers.
                    should = (answer.get('base_ref_supported') and
                              based.get(parts[-2], False))
                    if has_ref != should:
                        wrong += 1
            if wrong:
                text += '; base ref on %d wrong upload(s)' % wrong
        return {'outcome': text}
    return run


# The figure for nova: uploads at once on the shared session.
NOVA_THREADS = 100


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


def _cinder_retried(size=4096):
    """A volume from the base image; Glance answers 503 to the first PUT.

    Outcome: the image's stores, and how many bytes it holds.
    """
    def run(glance, bases, env):
        if glance.faults is None:
            return {'outcome': NOT_RUN}
        orders = {'glance_url': glance.url, 'project': PROJECT,
                  'token': glance_identity.make_token(PROJECT),
                  'num_retries': 1, 'size': size,
                  'uploads': [{'store_id': None,
                               'base_image_id': bases.two_stores}]}
        glance.faults.arm('http_503', kind='upload', count=1)
        try:
            answer = clients.run_client(env['cinder'], 'cinder', orders)
        finally:
            glance.faults.clear()
        if answer.get('error'):
            return {'outcome': 'error: %s' % answer['error'][-300:]}
        upload = answer['uploads'][0]
        if upload['error']:
            return {'outcome': 'error: %s' % upload['error'][-200:]}
        where = glance.where(upload['image_id'])
        image = glance.client(None).images.get(upload['image_id'])
        return {'outcome': '%s, %s of %d bytes' % (
            where['stores'], image.get('size'), size)}
    return run


# The fake's cinder store, for image volumes of volume type CINDER_TYPE.
CINDER_STORE = 'cinder1'
CINDER_TYPE = 'lvmdriver-1'
NOT_RUN_CINDER = 'not run: no cinder store here'


def _cinder_clone(store, fault=None):
    """Upload as copy_volume_to_image with image_upload_use_cinder_backend.

    The volume is of type CINDER_TYPE, whose type store is ``store``; the
    fake gets a cinder store for that type for the row. ``fault`` is armed
    on the store details look-up. Outcome: how the image got there
    (clone or upload) and its stores.
    """
    def run(glance, bases, env):
        if glance.images is None:
            return {'outcome': NOT_RUN_CINDER}
        folder = tempfile.mkdtemp(prefix='fake-cinder-store-')
        glance.images.add_cinder_store(CINDER_STORE, CINDER_TYPE, folder)
        if fault:
            glance.faults.arm(fault, kind='stores_detail', count=1)
        # NOTE: Glance shows its store details to services; cinder asks
        # with its [glance] service credentials, played by this token.
        orders = {'glance_url': glance.url, 'project': PROJECT,
                  'token': glance_identity.make_token(
                      PROJECT, roles=('member', 'reader', 'service')),
                  'clone_path': True,
                  'uploads': [{'store_id': store,
                               'volume_type': CINDER_TYPE}]}
        try:
            answer = clients.run_client(env['cinder'], 'cinder', orders)
            if answer.get('error'):
                return {'outcome': 'error: %s' % answer['error'][-300:]}
            upload = answer['uploads'][0]
            if upload['error']:
                return {'outcome': 'error: %s' % upload['error'][-200:]}
            return {'outcome': '%s: %s' % (
                upload['how'], glance.where(upload['image_id'])['stores'])}
        finally:
            glance.faults.clear()
            glance.images.remove_store(CINDER_STORE)
            shutil.rmtree(folder, ignore_errors=True)
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


def _cinder_24_legacy_location(expect, wire):
    """The 2024.1 entry of a clone-path row: Cinder 24.5.0 as released.

    Cinder 24 registers an image volume with glanceclient's legacy
    ``add_location`` (an image PATCH adding to ``/locations``): Glance's
    add-location API (``add_image_location``) came with Glance 29 and
    Cinder 26. A Glance with its default ``show_multiple_locations =
    False``, and the fake, refuse that PATCH, so Cinder drops the clone
    and uploads the volume to the default store, with no header. With the
    cinder series applied, the row's own expectation holds.
    """
    return {'expect': lambda st: (expect(st) if st.get('cinder') else
                                  'clone dropped, upload: store1'),
            'wire': lambda st: wire(st) if st.get('cinder') else 'PUT: -'}


def _cinder_24_clone_dropped(store, wire):
    """The 2024.1 entry of a clone-path row where Cinder would clone.

    Cinder 24.5.0 registers the clone through the legacy image PATCH
    with or without the cinder series (the add-location API it would
    need came with Glance 29 and Cinder 26; the series does not bring
    it), and a Glance with its default policy refuses that PATCH: the
    clone is dropped and the volume is uploaded, in both states.
    """
    return {'expect': lambda st: 'clone dropped, upload: %s' % store,
            'wire': lambda st: wire}


CLIENT_ROWS = (
    Row('nova: snapshot of an image-booted server',
        _nova(), lambda st: landing(st) if st.get('nova') else 'store1',
        needs=('nova',),
        wire=lambda st: 'PUT: base-ref' if st.get('nova') else 'PUT: -'),
    # The image as the compute manager creates it (base_image_ref from the
    # server's system metadata, in every Nova release): with the Glance
    # series alone, Nova as released already lands next to its base.
    Row('nova: snapshot created by the compute manager (base_image_ref)',
        _nova(mode='compute'),
        lambda st: landing(st) if st.get('nova') else _property_landing(st),
        needs=('nova',), glance_alone=True,
        wire=lambda st: 'PUT: base-ref' if st.get('nova') else 'PUT: -'),
    Row('nova: upload retried after a 503 ([glance]num_retries = 1)',
        _nova(fail_first_upload=True),
        lambda st: ('%s, 2048 of 2048 bytes' % landing(st) if st.get('nova')
                    else 'store1, 0 of 2048 bytes'), needs=('nova',),
        wire=lambda st: 'PUT: base-ref' if st.get('nova') else 'PUT: -'),
    Row('nova: boot-from-volume snapshot', _nova(mode='bfv'),
        lambda st: 'store1', needs=('nova',), wire=lambda st: 'PUT: -'),
    Row('nova: [glance]snapshot_store = store3', _nova(store='store3'),
        lambda st: 'store3' if st.get('nova') else 'unsupported',
        needs=('nova',),
        wire=lambda st: ('PUT: base-ref+store=store3' if st.get('nova')
                         else 'no PUT')),
    # NOTE: With the series the store is checked against Glance's
    # /v2/info/stores before anything is uploaded, and the image is gone.
    Row('nova: [glance]snapshot_store = nosuch', _nova(store='nosuch'),
        lambda st: ('error naming option and store' if st.get('nova')
                    else 'unsupported'), needs=('nova',),
        wire=lambda st: 'no PUT'),
    Row('nova: rbd compute, direct snapshot fell back to an upload '
        '(images_rbd_glance_store_name = store3)',
        _nova(rbd_store='store3'),
        lambda st: ('store3' if st.get('nova') else 'store1'),
        needs=('nova',),
        wire=lambda st: ('PUT: base-ref+store=store3' if st.get('nova')
                         else 'PUT: -')),
    Row('nova: rbd compute fallback, [glance]snapshot_store = store2 first',
        _nova(rbd_store='store3', store='store2'),
        lambda st: ('store2' if st.get('nova') else 'unsupported'),
        needs=('nova',),
        wire=lambda st: ('PUT: base-ref+store=store2' if st.get('nova')
                         else 'no PUT')),
    Row('nova: %d snapshot uploads at once, 1 in 4 of an image-booted '
        'server' % NOVA_THREADS, _nova_threads(NOVA_THREADS),
        lambda st: 'base: %s; other: store1' % (
            landing(st) if st.get('nova') else 'store1'),
        needs=('nova',),
        wire=lambda st: 'PUT: -, base-ref' if st.get('nova') else 'PUT: -'),
    Row('cinder: volume from image, no type store',
        _cinder([(None, True)]), landing,
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
    Row('cinder: upload retried after a 503 (glance_num_retries = 1)',
        _cinder_retried(),
        lambda st: '%s, %s of 4096 bytes' % (
            landing(st),
            4096 if st.get('cinder') else 0), needs=('cinder',),
        wire=lambda st: 'PUT: base-ref'),
    # The clone path (image_upload_use_cinder_backend): an image volume
    # can only be in the cinder store of its volume type.
    Row('cinder: clone path, type store = cinder store of the type',
        _cinder_clone(CINDER_STORE),
        lambda st: ('clone: %s' if st.get('cinder')
                    else 'clone dropped, upload: %s') % CINDER_STORE,
        needs=('cinder',),
        wire=lambda st: ('no PUT' if st.get('cinder')
                         else 'PUT: store=%s' % CINDER_STORE),
        releases={'2024.1': _cinder_24_clone_dropped(
            CINDER_STORE, 'PUT: store=%s' % CINDER_STORE)}),
    Row('cinder: clone path, no type store',
        _cinder_clone(None), lambda st: 'clone: %s' % CINDER_STORE,
        needs=('cinder',), wire=lambda st: 'no PUT',
        releases={'2024.1': _cinder_24_clone_dropped('store1', 'PUT: -')}),
    Row('cinder: clone path, type store = another store',
        _cinder_clone('store3'),
        lambda st: ('upload: store3' if st.get('cinder')
                    else 'clone dropped, upload: store3'),
        needs=('cinder',), wire=lambda st: 'PUT: store=store3'),
    Row('cinder: clone path, Glance 500 on the store look-up',
        _cinder_clone(None, fault='http_500'),
        lambda st: ('upload: store1' if st.get('cinder')
                    else 'clone: %s' % CINDER_STORE),
        needs=('cinder',),
        wire=lambda st: 'PUT: -' if st.get('cinder') else 'no PUT',
        releases={'2024.1': _cinder_24_legacy_location(
            lambda st: ('upload: store1' if st.get('cinder')
                        else 'clone: %s' % CINDER_STORE),
            lambda st: 'PUT: -' if st.get('cinder') else 'no PUT')}),
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
    # NOTE: the code on disk stays the same for all of the rows, so each
    # project is imported once (see patchseries.clients.forkserver).
    with clients.forkservers():
        for row in rows:
            first = len(glance.recorder.entries()) if glance.recorder else 0
            try:
                if row.parallel_stores != glance.parallel_stores:
                    result = {'outcome': NOT_RUN_PARALLEL}
                else:
                    result = row.run(glance, bases, env)
            except Exception as exc:  # a row must report, not stop the table
                result = {'outcome': 'error: %s' % exc}
            if glance.recorder:
                result['wire'] = wire_summary(
                    glance.recorder.entries()[first:])
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

    An import call may carry the store header too (Glance reads it
    there); it is shown, not counted as a leak:

    >>> wire_summary([{'method': 'POST', 'path': '/v2/images/x/import',
    ...                'headers': {'x-image-meta-store': 's3'}}])
    'no PUT; import: store=s3'
    """
    puts, imports, leaks = [], [], 0
    for entry in entries:
        carried = []
        if BASE_REF.lower() in entry['headers']:
            carried.append('base-ref')
        if 'x-image-meta-store' in entry['headers']:
            carried.append('store=%s' % entry['headers']['x-image-meta-store'])
        is_upload = entry['method'] == 'PUT' and entry['path'].endswith(
            '/file')
        is_import = entry['method'] == 'POST' and entry['path'].endswith(
            '/import')
        if is_upload:
            puts.append('+'.join(carried) or '-')
        elif is_import and carried:
            imports.append('+'.join(carried))
        elif carried:
            leaks += 1
    text = 'PUT: %s' % ', '.join(sorted(set(puts))) if puts else 'no PUT'
    if imports:
        text += '; import: %s' % ', '.join(sorted(set(imports)))
    if leaks:
        text += '; leaked on %d other request(s)' % leaks
    return text


def format_table(columns, state, rows=GLANCE_ROWS, release=None):
    """A text table: one line per row, one column per Glance.

    :param columns: ``[(column title, {row name: result})]``; the first
        column's wire summary is shown.
    :param release: the release the rows ran on (see ``Row.releases``).
    :returns: ``(text, number of failed rows)``.
    """
    header = (['row', 'expected'] + [title for title, _ in columns] +
              ['wire (%s)' % columns[0][0], ''])
    lines = [header]
    failures = 0
    for row in rows:
        expected = row.expected(state, release)
        cells = [row.name, str(expected)]
        ok = True
        for _title, results in columns:
            got = outcome(results.get(row.name, {}))
            cells.append(str(got))
            if got not in (NOT_RUN, NOT_RUN_READ_ONLY, NOT_RUN_CINDER,
                           NOT_RUN_POLICY, NOT_RUN_RECORDER,
                           NOT_RUN_PARALLEL, NOT_RUN_COPY_PATH):
                ok = ok and got == expected
        wire = columns[0][1].get(row.name, {}).get('wire', '')
        expected_wire = row.expected_wire(state, release)
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
