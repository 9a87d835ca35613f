"""Drive cinder's volume upload as the volume manager does (cinder's venv).

Orders: glance_url, token, project, auth_strategy ('keystone' or
'noauth'), static_client (bool: one client for every call, as cinder
uses for image refs given as URLs), uploads: a list of
``{'store_id', 'base_image_id', 'volume_type'}``, threads, size,
num_retries (``glance_num_retries``), clone_path (bool: upload as
``copy_volume_to_image`` does with ``image_upload_use_cinder_backend``;
each answer then says ``how``: ``clone``, ``upload`` or ``clone
dropped, upload``); or, for ``patchseries
bench``, bench: ``{'base_image_id', 'store_id', 'warmup', 'folder'}``
(folder: where the volume files go), then measurement orders on stdin
(see benchmeasure.serve).

With ``threads`` above one the uploads run in eventlet green threads on
a monkey-patched process, as they do in cinder-volume: image_utils hands
the volume file to eventlet's tpool, which serves green threads, not
several native ones.
"""

import json
import os
import sys
import tempfile
import types
import urllib.parse
import uuid


def preload(monkey=False):
    """What main imports first (see forkserver).

    :param monkey: monkey-patch with eventlet first, as main does for
        threaded orders.
    """
    if monkey:
        import eventlet
        eventlet.monkey_patch()
    from cinder.volume import volume_utils  # noqa
    from cinder.common import config  # noqa
    from cinder import context  # noqa
    from cinder.image import glance  # noqa
    from cinder import objects
    from oslo_config import cfg  # noqa
    # NOTE: it only imports the object modules; main calls it again.
    objects.register_all()


def main(orders):
    if orders.get('threads', 1) > 1:
        import eventlet
        eventlet.monkey_patch()
    # NOTE: volume_utils first; importing cinder.image.glance first trips
    # over the circular import between it and image_utils.
    from cinder.volume import volume_utils
    from cinder.common import config  # noqa: registers the options
    from cinder import context
    from cinder.image import glance
    from cinder import objects
    from oslo_config import cfg

    conf = cfg.CONF
    conf([], project='cinder', default_config_files=[])
    netloc = urllib.parse.urlsplit(orders['glance_url']).netloc
    conf.set_override('glance_api_servers', [orders['glance_url']])
    conf.set_override('auth_strategy', orders.get('auth_strategy',
                                                  'keystone'))
    if orders.get('num_retries') is not None:
        conf.set_override('glance_num_retries', orders['num_retries'])
    objects.register_all()
    ctx = context.RequestContext('user', orders['project'],
                                 auth_token=orders['token'])
    if orders.get('static_client'):
        service = glance.GlanceImageService(
            client=glance.GlanceClientWrapper(ctx, netloc, False))
    else:
        service = glance.GlanceImageService()

    folder = tempfile.mkdtemp(prefix='cinder-driver-',
                              dir=orders.get('bench', {}).get('folder'))
    if orders.get('bench'):
        try:
            return bench(ctx, service, volume_utils, objects, folder,
                         orders['bench'])
        finally:
            os.rmdir(folder)
    size = orders.get('size', 4096)
    results = [None] * len(orders['uploads'])

    def one(index, upload):
        answer = {'image_id': None, 'error': None}
        try:
            image = service.create(ctx, {'name': 'volume-%d' % index,
                                         'disk_format': 'raw',
                                         'container_format': 'bare'})
            answer['image_id'] = image['id']
            volume = _volume(ctx, objects, upload)
            path = os.path.join(folder, 'volume-%d' % index)
            with open(path, 'wb') as f:
                f.write(b'v' * size)
            if orders.get('clone_path'):
                answer['how'] = _copy_volume_to_image(
                    ctx, service, image, path, volume, volume_utils)
            else:
                volume_utils.upload_volume(ctx, service, image, path,
                                           volume=volume, run_as_root=False,
                                           compress=False)
        except Exception as exc:
            answer['error'] = '%s: %s' % (type(exc).__name__, exc)
        results[index] = answer

    threads = orders.get('threads', 1)
    if threads > 1:
        import eventlet
        pool = eventlet.GreenPool(threads)
        for index, upload in enumerate(orders['uploads']):
            pool.spawn_n(one, index, upload)
        pool.waitall()
    else:
        for index, upload in enumerate(orders['uploads']):
            one(index, upload)
    return {'uploads': results}


def _volume(ctx, objects, upload):
    """The volume of ``upload``: its type's store, its base image."""
    extra_specs = {}
    if upload.get('store_id'):
        extra_specs['image_service:store_id'] = upload['store_id']
    glance_metadata = {}
    if upload.get('base_image_id'):
        glance_metadata['image_id'] = upload['base_image_id']
    return objects.Volume(
        ctx, id=str(uuid.uuid4()),
        volume_type=objects.VolumeType(
            ctx, name=upload.get('volume_type') or 'default',
            extra_specs=extra_specs),
        glance_metadata=glance_metadata)


def _copy_volume_to_image(ctx, service, image, path, volume, volume_utils):
    """What copy_volume_to_image does with image_upload_use_cinder_backend.

    The real VolumeManager decides whether to clone and registers the
    clone's location; the clone itself is a stand-in, as no volume
    driver runs here. Otherwise the data is uploaded as the drivers do.
    """
    from cinder.volume import manager

    events = []

    class Manager(manager.VolumeManager):
        # NOTE: none of the driver, database and RPC set-up of the real
        # manager: the clone path only reads these.
        def __init__(self):
            self._glance_cinder_stores = None
            self.driver = types.SimpleNamespace(
                configuration=types.SimpleNamespace(
                    image_upload_use_cinder_backend=True,
                    image_upload_use_internal_tenant=False))
            self.db = types.SimpleNamespace(
                volume_metadata_update=lambda *args: None)

        def _clone_image_volume(self, ctx, volume, image_meta):
            events.append('clone')
            return types.SimpleNamespace(id=str(uuid.uuid4()))

        def delete_volume(self, ctx, volume, *args, **kwargs):
            events.append('dropped')

    if Manager()._clone_image_volume_and_add_location(ctx, volume, service,
                                                      image):
        return 'clone'
    volume_utils.upload_volume(ctx, service, image, path, volume=volume,
                               run_as_root=False, compress=False)
    return 'clone dropped, upload' if 'dropped' in events else 'upload'


def start_hub():
    """Start eventlet's hub and thread pool here, before any upload.

    image_utils reads the volume through tpool, and every read switches
    from the uploading greenlet to the hub and back; each switch copies
    the stack between the read and the point where the hub greenlet was
    first entered. cinder-volume starts its hub when the service starts,
    so a read copies the whole depth of the upload's stack. In a driver
    that has not, the hub is born at the first tpool call of the warm-up
    upload: deep inside glanceclient for unpatched code (its reads), so
    that its later switches copy almost nothing, but at the shallow
    rewind check for patched code (``seekable()``), whose switches then
    copy the stack of the upload in full. Under callgrind that made the
    patched code cost 1.6% more per MiB for a difference of where the
    hub was born, not of work. Started here, it is born at the same
    shallow place on both sides, as in the service.
    """
    from eventlet import tpool
    tpool.execute(int)


def bench(ctx, service, volume_utils, objects, folder, orders):
    """Serve measured uploads of sparse volume files (``patchseries bench``).

    Each file exists only for its own upload.
    """
    import benchmeasure
    from cinder.image import glance
    from cinder.image import image_utils

    volume = _volume(ctx, objects, orders)
    path = os.path.join(folder, 'volume')
    start_hub()

    def upload(size):
        image = service.create(ctx, {'name': 'bench', 'disk_format': 'raw',
                                     'container_format': 'bare'})
        with open(path, 'wb') as f:
            f.truncate(size)
        try:
            result = benchmeasure.measure(
                lambda: volume_utils.upload_volume(
                    ctx, service, image, path, volume=volume,
                    run_as_root=False, compress=False), size)
            shown = service.show(ctx, image['id'])
            result.update(status=shown['status'], glance_size=shown['size'])
        finally:
            os.unlink(path)
            service.delete(ctx, image['id'])
        return result

    benchmeasure.serve(upload, orders.get('warmup', 64 << 20),
                       benchmeasure.fingerprint(glance, image_utils,
                                                volume_utils))


if __name__ == '__main__':
    answer = main(json.loads(sys.argv[1]))
    if answer is not None:
        print(json.dumps(answer))
