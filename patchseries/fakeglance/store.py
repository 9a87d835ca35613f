"""Images and their data, kept the way Glance keeps them.

Every store is a folder; an image's data lives in one file per store it
is in, and its ``locations`` list each of them with ``metadata.store``,
as a multi-store Glance shows them. Checksums are computed while the data
streams in, one chunk at a time, so an image of any size costs a chunk or
two of memory.
"""

from concurrent import futures
import copy
import datetime
import hashlib
import os
import threading
import time
import uuid

from patchseries.fakeglance import errors

CHUNK = 64 * 1024
# Uploads are hashed in larger chunks, two digests side by side.
WRITE_CHUNK = 1024 * 1024
RESERVED_PREFIX = 'os_glance_'
RESERVED_STORES = ('os_glance_staging_store', 'os_glance_tasks_store')

# Glance fills these on create; clients (nova) rely on them being there.
DEFAULTS = {
    'name': None, 'disk_format': None, 'container_format': None,
    'visibility': 'shared', 'size': None, 'virtual_size': None,
    'status': 'queued', 'checksum': None, 'protected': False,
    'min_ram': 0, 'min_disk': 0, 'os_hidden': False, 'os_hash_algo': None,
    'os_hash_value': None, 'tags': [],
}
READ_ONLY = ('id', 'status', 'size', 'virtual_size', 'checksum', 'owner',
             'os_hash_algo', 'os_hash_value', 'created_at', 'updated_at',
             'stores', 'locations', 'file', 'self', 'schema', 'direct_url')


class Store(object):
    """A file store, or a cinder store when it has a ``volume_type``.

    A cinder store keeps uploaded data in its folder like a file store;
    it also takes ``cinder://`` locations (image volumes), which have no
    data in the fake.
    """

    def __init__(self, store_id, path, read_only=False, description=None,
                 volume_type=None):
        self.id = store_id
        self.path = path
        self.read_only = read_only
        self.description = description
        self.volume_type = volume_type
        os.makedirs(path, exist_ok=True)

    @property
    def type(self):
        return 'file' if self.volume_type is None else 'cinder'

    @property
    def reserved(self):
        return self.id.startswith(RESERVED_PREFIX)

    def file_for(self, image_id):
        return os.path.join(self.path, image_id)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%SZ')


class ImageStore(object):
    """Image records and data for the fake.

    :param root: the folder holding one sub-folder per store.
    :param stores: store ids in configuration order, ``(id, read_only)``.
    :param default: the default store id.
    """

    def __init__(self, root, stores, default):
        self.lock = threading.RLock()
        self.stores = {}
        for store_id, read_only in stores:
            self.stores[store_id] = Store(store_id,
                                          os.path.join(root, store_id),
                                          read_only=read_only)
        for store_id in RESERVED_STORES:
            self.stores[store_id] = Store(store_id,
                                          os.path.join(root, store_id))
        if default not in self.stores:
            raise ValueError('default store %r is not a store' % default)
        self.default = default
        self.images = {}

    def add_cinder_store(self, store_id, volume_type, root):
        """Add a cinder store for volumes of ``volume_type``."""
        with self.lock:
            self.stores[store_id] = Store(store_id,
                                          os.path.join(root, store_id),
                                          volume_type=volume_type)

    def remove_store(self, store_id):
        with self.lock:
            self.stores.pop(store_id, None)

    # Records -------------------------------------------------------------

    def create(self, props, owner):
        image_id = props.pop('id', None) or str(uuid.uuid4())
        with self.lock:
            if image_id in self.images:
                raise errors.Conflict('image %s already exists' % image_id)
            record = copy.deepcopy(DEFAULTS)
            record.update(props)
            now = _now()
            record.update({'id': image_id, 'owner': owner,
                           'created_at': now, 'updated_at': now,
                           'locations': []})
            self.images[image_id] = record
            return copy.deepcopy(record)

    def get(self, image_id):
        """The record, or None; callers decide who may see it."""
        with self.lock:
            record = self.images.get(image_id)
            return copy.deepcopy(record) if record else None

    def list(self):
        with self.lock:
            return [copy.deepcopy(r) for r in self.images.values()]

    def update(self, image_id, changes, removals=()):
        with self.lock:
            record = self.images[image_id]
            record.update(changes)
            for key in removals:
                record.pop(key, None)
            record['updated_at'] = _now()
            return copy.deepcopy(record)

    def delete(self, image_id):
        with self.lock:
            record = self.images.pop(image_id, None)
        if record and os.path.exists(self.staged_file(image_id)):
            os.unlink(self.staged_file(image_id))
        if record:
            for location in record['locations']:
                store = self.stores.get(location['metadata']['store'])
                if store and os.path.exists(store.file_for(image_id)):
                    os.unlink(store.file_for(image_id))
        return record

    def add_location(self, image_id, store_id, url=None):
        with self.lock:
            record = self.images[image_id]
            record['locations'].append({
                'url': url or 'file://' + self.stores[store_id].file_for(
                    image_id),
                'metadata': {'store': store_id}})
            record['updated_at'] = _now()

    def remove_location(self, image_id, store_id):
        """Drop the image's location in ``store_id`` and its file."""
        with self.lock:
            record = self.images[image_id]
            record['locations'] = [
                loc for loc in record['locations']
                if loc['metadata']['store'] != store_id]
            record['updated_at'] = _now()
        path = self.stores[store_id].file_for(image_id)
        if os.path.exists(path):
            os.unlink(path)

    # Data ----------------------------------------------------------------

    def write(self, image_id, stream, store_id):
        """Stream ``stream`` into ``store_id``; the image becomes active.

        :returns: the updated record.
        """
        store = self.stores[store_id]
        path = store.file_for(image_id)
        md5 = hashlib.md5(usedforsecurity=False)
        sha512 = hashlib.sha512()
        size = 0
        with open(path + '.part', 'wb') as out, \
                futures.ThreadPoolExecutor(1) as helper:
            for chunk in iter(lambda: stream.read(WRITE_CHUNK), b''):
                # NOTE: hashlib lets go of the GIL on large buffers, so
                # the helper computes one digest while this thread
                # computes the other and writes.
                pending = helper.submit(md5.update, chunk)
                sha512.update(chunk)
                out.write(chunk)
                pending.result()
                size += len(chunk)
        os.replace(path + '.part', path)
        with self.lock:
            self.add_location(image_id, store_id)
            return self.update(image_id, {
                'status': 'active', 'size': size,
                'checksum': md5.hexdigest(), 'os_hash_algo': 'sha512',
                'os_hash_value': sha512.hexdigest()})

    def read(self, image_id):
        """Yield the image's data from its first location."""
        record = self.get(image_id)
        store = self.stores[record['locations'][0]['metadata']['store']]
        with open(store.file_for(image_id), 'rb') as f:
            for chunk in iter(lambda: f.read(CHUNK), b''):
                yield chunk

    def _source_file(self, image_id):
        """The file of the image's first location, or None."""
        record = self.get(image_id)
        if record is None:
            return None
        store = self.stores[record['locations'][0]['metadata']['store']]
        return store.file_for(image_id)

    def stage_copy(self, image_id):
        """Copy the image's data into the staging area.

        Glance's staged copy-image does that first.
        """
        source = self._source_file(image_id)
        if source is None:
            raise KeyError(image_id)
        with open(source, 'rb') as src, \
                open(self.staged_file(image_id), 'wb') as dst:
            for chunk in iter(lambda: src.read(WRITE_CHUNK), b''):
                dst.write(chunk)

    def copy_to(self, image_id, store_id, pause=0.0, source=None):
        """Copy the image's data into another store, chunk by chunk.

        :param pause: seconds to wait after the first chunk is written.
        :param source: the file to read (default: the image's first
            location).
        :returns: False when the image was deleted meanwhile; what the
            copy wrote is deleted again, as the patched Glance does.
        """
        source = source or self._source_file(image_id)
        if source is None:
            return False
        target = self.stores[store_id]
        part = target.file_for(image_id) + '.part'
        with open(source, 'rb') as src, open(part, 'wb') as dst:
            for index, chunk in enumerate(iter(lambda: src.read(CHUNK),
                                               b'')):
                dst.write(chunk)
                if index == 0 and pause:
                    dst.flush()
                    time.sleep(pause)
        with self.lock:
            if image_id not in self.images:
                os.unlink(part)
                return False
            os.replace(part, target.file_for(image_id))
            self.add_location(image_id, store_id)
        return True

    def copy_to_many(self, image_id, store_ids, pause=0.0):
        """Copy the image into ``store_ids`` from one read of its data.

        A store whose file cannot be opened or written fails alone; the
        others go on.

        :param pause: seconds to wait after the first chunk is written.
        :returns: the stores written, or None when the image was deleted
            meanwhile (what the copy wrote is deleted again).
        """
        source = self._source_file(image_id)
        if source is None:
            return None
        parts, outs = {}, {}
        for store_id in store_ids:
            parts[store_id] = self.stores[store_id].file_for(
                image_id) + '.part'
            try:
                outs[store_id] = open(parts[store_id], 'wb')
            except OSError:
                pass
        try:
            with open(source, 'rb') as src:
                for index, chunk in enumerate(iter(
                        lambda: src.read(CHUNK), b'')):
                    for store_id, out in list(outs.items()):
                        try:
                            out.write(chunk)
                            if index == 0 and pause:
                                out.flush()
                        except OSError:
                            out.close()
                            del outs[store_id]
                            os.unlink(parts[store_id])
                    if index == 0 and pause:
                        time.sleep(pause)
        except OSError:
            # NOTE: the source went away (the image was deleted): no
            # store gets a copy.
            for store_id, out in list(outs.items()):
                out.close()
                del outs[store_id]
                os.unlink(parts[store_id])
        finally:
            for out in outs.values():
                out.close()
        with self.lock:
            if image_id not in self.images:
                for store_id in outs:
                    os.unlink(parts[store_id])
                return None
            for store_id in outs:
                os.replace(parts[store_id],
                           self.stores[store_id].file_for(image_id))
                self.add_location(image_id, store_id)
        return list(outs)

    def stage(self, image_id, stream):
        """Keep ``stream`` in the staging area; the image is uploading."""
        path = self.stores[RESERVED_STORES[0]].file_for(image_id)
        with open(path, 'wb') as out:
            for chunk in iter(lambda: stream.read(WRITE_CHUNK), b''):
                out.write(chunk)
        return self.update(image_id, {'status': 'uploading'})

    @property
    def staging_dir(self):
        return self.stores[RESERVED_STORES[0]].path

    def staged_file(self, image_id):
        return self.stores[RESERVED_STORES[0]].file_for(image_id)

    # Views ---------------------------------------------------------------

    def writable(self, store_id):
        store = self.stores.get(store_id)
        return bool(store) and not store.read_only and not store.reserved

    def info_stores(self):
        """The ``/v2/info/stores`` body, as Glance words it."""
        out = []
        for store in self.stores.values():
            if store.reserved:
                continue
            entry = {'id': store.id}
            if store.description:
                entry['description'] = store.description
            if store.id == self.default:
                entry['default'] = 'true'
            if store.read_only:
                entry['read-only'] = 'true'
            out.append(entry)
        return {'stores': out}

    def info_stores_detail(self):
        """The ``/v2/info/stores/detail`` body: type and properties too."""
        out = self.info_stores()['stores']
        for entry in out:
            store = self.stores[entry['id']]
            entry['type'] = store.type
            if store.type == 'cinder':
                entry['properties'] = {'volume_type': store.volume_type,
                                       'use_multipath': False}
            else:
                entry['properties'] = {'data_dir': store.path,
                                       'chunk_size': CHUNK,
                                       'thin_provisioning': False}
            entry['weight'] = 0
        return {'stores': out}
