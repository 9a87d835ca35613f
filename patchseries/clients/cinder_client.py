"""Drive cinder's volume upload as the volume manager does (cinder's venv).

Orders: glance_url, token, project, auth_strategy ('keystone' or
'noauth'), static_client (bool: one client for every call, as cinder
uses for image refs given as URLs), uploads: a list of
``{'store_id', 'base_image_id'}``, threads, size.

With ``threads`` above one the uploads run in eventlet green threads on
a monkey-patched process, as they do in cinder-volume: image_utils hands
the volume file to eventlet's tpool, which serves green threads, not
several native ones.
"""

import json
import os
import sys
import tempfile
import urllib.parse
import uuid


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
    objects.register_all()
    ctx = context.RequestContext('user', orders['project'],
                                 auth_token=orders['token'])
    if orders.get('static_client'):
        service = glance.GlanceImageService(
            client=glance.GlanceClientWrapper(ctx, netloc, False))
    else:
        service = glance.GlanceImageService()

    size = orders.get('size', 4096)
    folder = tempfile.mkdtemp(prefix='cinder-driver-')
    results = [None] * len(orders['uploads'])

    def one(index, upload):
        answer = {'image_id': None, 'error': None}
        try:
            image = service.create(ctx, {'name': 'volume-%d' % index,
                                         'disk_format': 'raw',
                                         'container_format': 'bare'})
            answer['image_id'] = image['id']
            extra_specs = {}
            if upload.get('store_id'):
                extra_specs['image_service:store_id'] = upload['store_id']
            glance_metadata = {}
            if upload.get('base_image_id'):
                glance_metadata['image_id'] = upload['base_image_id']
            volume = objects.Volume(
                ctx, id=str(uuid.uuid4()),
                volume_type=objects.VolumeType(ctx, extra_specs=extra_specs),
                glance_metadata=glance_metadata)
            path = os.path.join(folder, 'volume-%d' % index)
            with open(path, 'wb') as f:
                f.write(b'v' * size)
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


if __name__ == '__main__':
    print(json.dumps(main(json.loads(sys.argv[1]))))
