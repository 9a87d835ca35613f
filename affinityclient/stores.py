"""Glance's stores and which of them can take a copy.

A copy can go only into a store Glance may write to. ``/v2/info/stores``
marks read-only stores (the http store) with ``read-only``; the
``/detail`` variant, admin-only by default, adds each store's ``type``.
Glance's reserved ``os_glance_*`` stores are never a target.
"""

import logging

from openstack import exceptions as sdk_exc
from openstack.image.v2 import service_info
from openstack import resource

from affinityclient import exceptions

LOG = logging.getLogger(__name__)

RESERVED_PREFIX = 'os_glance_'
# Store drivers that cannot take data, whatever the listing says.
READ_ONLY_TYPES = ('http',)


class Stores(object):
    """The stores of one Glance.

    :param entries: ``(store id, writable, is default)`` in Glance's order.
    """

    def __init__(self, entries):
        self.entries = list(entries)
        self.writable = tuple(s for s, w, _d in self.entries if w)

    @property
    def ids(self):
        return tuple(s for s, _w, _d in self.entries)

    def writable_of(self, store_ids):
        """The writable stores among ``store_ids``, in Glance's order."""
        wanted = set(store_ids)
        return tuple(s for s in self.writable if s in wanted)

    def check_target(self, store_id):
        """Raise :class:`StoreError` unless ``store_id`` can take copies."""
        if store_id not in self.ids:
            raise exceptions.StoreError(
                'unknown store %r; this Glance has: %s'
                % (store_id, ', '.join(self.ids) or 'none'))
        if store_id not in self.writable:
            raise exceptions.StoreError(
                'store %r is read-only; images cannot be copied into it '
                '(writable stores: %s)'
                % (store_id, ', '.join(self.writable) or 'none'))


class Store(service_info.Store):
    """The SDK's store with the fields it drops that a copy depends on."""

    #: "true" for a store Glance cannot write to (the basic listing says)
    read_only = resource.Body('read-only')
    #: the store driver (``/detail`` only)
    type = resource.Body('type')


def _writable(store):
    if store.id.startswith(RESERVED_PREFIX):
        return False
    if str(store.read_only).lower() == 'true':
        return False
    return store.type not in READ_ONLY_TYPES


def load_stores(image_proxy):
    """Read the stores of the Glance behind ``image_proxy``.

    :param image_proxy: openstacksdk's image proxy.
    :returns: a :class:`Stores`.
    :raises NotMultiStore: when Glance has no multi-store configuration.
    """
    try:
        try:
            found = list(Store.list(
                image_proxy, base_path=Store.base_path + '/detail'))
        except sdk_exc.ForbiddenException:
            LOG.debug('stores detail refused; using the basic listing')
            found = list(Store.list(image_proxy))
    except sdk_exc.NotFoundException:
        raise exceptions.NotMultiStore(
            'this Glance is not multi-store (no enabled_backends: '
            '/v2/info/stores answers 404); there are no stores to '
            'place images in')
    return Stores((s.id, _writable(s), bool(s.is_default)) for s in found)
