"""Drive nova's image API as the virt drivers do (run in nova's venv).

Orders: glance_url, token, project, mode ('snapshot', 'compute', 'bfv',
'threads' or 'bench'), base_image_ref, snapshot_store, rbd_store, size,
num_retries, threads. 'bench' answers measurement orders on stdin (see
benchmeasure.serve).

'compute' creates the snapshot image as the compute manager does, with
``nova.compute.utils.create_image`` and the server's system metadata,
which every Nova release turns into a ``base_image_ref`` property.

``rbd_store`` plays a compute with ``[libvirt] images_type = rbd`` and
that ``images_rbd_glance_store_name`` whose direct snapshot fell back to
an upload. 'threads' makes ``threads`` snapshot uploads at once on the
process's shared session, every ``based_every``-th with the base image.
"""

import concurrent.futures
import importlib.util
import inspect
import io
import json
import os
import sys


def _green():
    """Whether this Nova uploads through eventlet's tpool.

    Nova 29 and 31 (2024.1, 2025.1) hand image data to eventlet's thread
    pool (``utils.tpool_execute``), which works only in a process that is
    monkey-patched, as every Nova service of those releases is: called
    from several native threads of an unpatched process, it waits
    forever. The driver then patches as ``nova.cmd`` does, and its
    threads are green threads, as in nova-compute. Read from the source,
    without importing nova, which must come after the patching.
    """
    spec = importlib.util.find_spec('nova')
    path = os.path.join(os.path.dirname(spec.origin), 'image', 'glance.py')
    with open(path) as f:
        return 'tpool_execute(' in f.read()


def _patch_if_green():
    if _green():
        import nova.monkey_patch  # noqa: patches on import


def preload():
    """What main imports first (see forkserver)."""
    _patch_if_green()
    import nova.conf  # noqa
    from nova.compute import utils  # noqa
    from nova import context  # noqa
    from nova.image import glance  # noqa
    from nova import objects
    # NOTE: it only imports the object modules; main calls it again.
    objects.register_all()


def main(orders):
    _patch_if_green()
    import nova.conf
    from nova import context
    from nova.image import glance
    from nova import objects

    conf = nova.conf.CONF
    conf([], project='nova', default_config_files=[])
    conf.set_override('api_servers', [orders['glance_url']], 'glance')
    conf.set_override('num_retries', orders.get('num_retries', 0), 'glance')
    answer = {'image_id': None, 'error': None}
    if orders.get('snapshot_store'):
        if 'snapshot_store' not in conf.glance:
            answer['error'] = 'unsupported: no [glance]snapshot_store option'
            return answer
        conf.set_override('snapshot_store', orders['snapshot_store'],
                          'glance')
    if orders.get('rbd_store'):
        conf.set_override('images_type', 'rbd', 'libvirt')
        conf.set_override('images_rbd_glance_store_name', orders['rbd_store'],
                          'libvirt')
    objects.register_all()
    ctx = context.RequestContext('user', orders['project'],
                                 auth_token=orders['token'])
    api = glance.API()
    if orders['mode'] == 'bench':
        return bench(api, ctx, orders)
    if orders['mode'] == 'threads':
        return threads(api, ctx, orders)
    props = {'image_type': 'snapshot'}
    if orders['mode'] == 'bfv':
        # What the compute API creates for a volume-backed snapshot: a
        # zero-size image that Glance must make active.
        meta = {'name': 'bfv-snapshot', 'size': 0, 'disk_format': 'raw',
                'container_format': 'bare',
                'properties': dict(props, block_device_mapping='[]',
                                   root_device_name='/dev/vda')}
        image = api.create(ctx, meta)
        answer['image_id'] = image['id']
        return answer
    if orders['mode'] == 'compute':
        image = _create_as_compute(api, ctx, orders)
    else:
        image = api.create(ctx, {'name': 'snapshot', 'properties': props})
    answer['image_id'] = image['id']
    answer['base_ref_supported'] = _takes_base_ref(api)
    try:
        # NOTE: As the compute manager does before the driver runs.
        if hasattr(api, 'validate_snapshot_store'):
            api.validate_snapshot_store(ctx)
        _upload(api, ctx, image['id'], orders)
    except Exception as exc:
        answer['error'] = '%s: %s' % (type(exc).__name__, exc)
        # NOTE: As delete_image_on_error does for a failed snapshot.
        api.delete(ctx, image['id'])
    return answer


def _create_as_compute(api, ctx, orders):
    """The snapshot image of an image-booted server, as nova makes it."""
    from nova.compute import utils as compute_utils
    from nova import objects

    # NOTE: what the compute API records when it boots a server from
    # an image: its image properties, and the image as the base.
    instance = objects.Instance(
        uuid='0b6a3c2e-5d1f-4e7a-9c8b-2f4e6a8d0c13',
        project_id=orders['project'], user_id='user',
        system_metadata={'image_base_image_ref': orders['base_image_ref'],
                         'image_disk_format': 'raw',
                         'image_container_format': 'bare',
                         'image_min_disk': '1', 'image_min_ram': '0'})
    return compute_utils.create_image(ctx, instance, 'snapshot',
                                      'snapshot', api)


def _upload(api, ctx, image_id, orders, base=True):
    """Upload a snapshot's data as the libvirt driver does."""
    import nova.conf

    conf = nova.conf.CONF
    meta = {'name': 'snapshot', 'disk_format': 'raw',
            'container_format': 'bare',
            'properties': {'image_type': 'snapshot'}}
    data = io.BytesIO(b's' * orders.get('size', 1024))
    kwargs = _base_ref_kwargs(api, orders) if base else {}
    if ('store' in inspect.signature(api.update).parameters and
            conf.libvirt.images_type == 'rbd'):
        kwargs['store'] = conf.libvirt.images_rbd_glance_store_name or None
    api.update(ctx, image_id, meta, data, purge_props=False, **kwargs)


def threads(api, ctx, orders):
    """Upload ``threads`` snapshots at once; say what each one was."""
    every = orders.get('based_every', 4)

    def one(index):
        image = api.create(ctx, {'name': 'snapshot-%d' % index})
        based = index % every == 0
        try:
            _upload(api, ctx, image['id'], orders, base=based)
        except Exception as exc:
            return {'image_id': image['id'], 'based': based,
                    'error': '%s: %s' % (type(exc).__name__, exc)}
        return {'image_id': image['id'], 'based': based, 'error': None}

    count = orders.get('threads', 100)
    with concurrent.futures.ThreadPoolExecutor(max_workers=count) as pool:
        uploads = list(pool.map(one, range(count)))
    return {'uploads': uploads, 'error': None,
            'base_ref_supported': _takes_base_ref(api)}


def _takes_base_ref(api):
    return 'base_image_ref' in inspect.signature(api.update).parameters


def _base_ref_kwargs(api, orders):
    """``base_image_ref`` for ``update()`` where this nova takes one."""
    base = orders.get('base_image_ref')
    if base and _takes_base_ref(api):
        return {'base_image_ref': base}
    return {}


def bench(api, ctx, orders):
    """Serve measured uploads of generated images (``patchseries bench``)."""
    import benchmeasure
    from nova.image import glance

    kwargs = _base_ref_kwargs(api, orders)
    meta = {'name': 'bench', 'disk_format': 'raw', 'container_format': 'bare',
            'properties': {'image_type': 'snapshot'}}

    def upload(size):
        image = api.create(ctx, {'name': 'bench'})
        try:
            result = benchmeasure.measure(
                lambda: api.update(ctx, image['id'], meta,
                                   benchmeasure.GeneratedImage(size),
                                   purge_props=False, **kwargs), size)
            shown = api.get(ctx, image['id'])
            result.update(status=shown['status'], glance_size=shown['size'])
        finally:
            api.delete(ctx, image['id'])
        return result

    benchmeasure.serve(upload, orders.get('warmup', 64 << 20),
                       benchmeasure.fingerprint(glance))


if __name__ == '__main__':
    answer = main(json.loads(sys.argv[1]))
    if answer is not None:
        print(json.dumps(answer))
