"""Drive nova's image API as the virt drivers do (run in nova's venv).

Orders: glance_url, token, project, mode ('snapshot', 'bfv' or
'bench'), base_image_ref, snapshot_store, size, num_retries. 'bench'
answers measurement orders on stdin (see benchmeasure.serve).
"""

import inspect
import io
import json
import sys


def main(orders):
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
    objects.register_all()
    ctx = context.RequestContext('user', orders['project'],
                                 auth_token=orders['token'])
    api = glance.API()
    if orders['mode'] == 'bench':
        return bench(api, ctx, orders)
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
    image = api.create(ctx, {'name': 'snapshot', 'properties': props})
    answer['image_id'] = image['id']
    meta = {'name': 'snapshot', 'disk_format': 'raw',
            'container_format': 'bare', 'properties': props}
    data = io.BytesIO(b's' * orders.get('size', 1024))
    kwargs = _base_ref_kwargs(api, orders)
    answer['base_ref_supported'] = _takes_base_ref(api)
    try:
        api.update(ctx, image['id'], meta, data, purge_props=False, **kwargs)
    except Exception as exc:
        answer['error'] = '%s: %s' % (type(exc).__name__, exc)
    return answer


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
