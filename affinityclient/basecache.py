"""A bounded cache of base images.

Thousands of snapshots share a handful of bases, so each base is fetched
once; the cache forgets the least recently used one beyond ``size``
entries, so a cloud with any number of bases costs bounded memory.
"""

import collections

from openstack import exceptions as sdk_exc

from affinityclient import images

SIZE = 1024


class Base(collections.namedtuple('Base', 'id stores problem')):
    """A base image as the audit needs it.

    ``problem`` says why the base cannot be judged (None when it can).
    """


class BaseCache(object):
    def __init__(self, image_proxy, size=SIZE):
        self.image_proxy = image_proxy
        self.size = size
        self._bases = collections.OrderedDict()
        self.fetches = 0

    def get(self, base_id):
        """The :class:`Base` of ``base_id``."""
        base = self._bases.get(base_id)
        if base is not None:
            self._bases.move_to_end(base_id)
            return base
        base = self._fetch(base_id)
        self._bases[base_id] = base
        if len(self._bases) > self.size:
            self._bases.popitem(last=False)
        return base

    def _fetch(self, base_id):
        self.fetches += 1
        try:
            image = self.image_proxy.get_image(base_id)
        except sdk_exc.BadRequestException:
            return Base(base_id, (), 'base image reference %r is not an '
                        'image id' % base_id)
        except sdk_exc.NotFoundException:
            # NOTE: Glance answers 404 for an image the caller may not
            # see as for one that does not exist; so do we.
            return Base(base_id, (), 'base image %s is not found or not '
                        'visible' % base_id)
        if image.status != 'active':
            return Base(base_id, (), 'base image %s is %s, not active'
                        % (base_id, image.status))
        return Base(base_id, images.stores_of(image), None)
