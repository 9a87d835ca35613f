"""Image listing and what an image says about its base.

Nova records the image a server booted from on every snapshot and backup
it makes: ``image_type`` (``snapshot`` or ``backup``) and
``base_image_ref`` (empty for a server booted from a volume). Cinder 29
records a volume upload's source image only as the ``image_id`` property,
and only when the operator took ``image_id`` out of ``[DEFAULT]
glance_core_properties`` (by default Cinder filters it out); its uploads
carry no ``image_type``. An image that names no base is not audited.
"""

import datetime
import logging

LOG = logging.getLogger(__name__)

KINDS = ('snapshot', 'backup', 'volume')
PAGE_SIZE = 200


def properties(image):
    return image.properties or {}


def base_of(image):
    """``(base image id, kind)`` of an image, or ``(None, None)``.

    :param image: an openstacksdk image.
    """
    props = properties(image)
    ref = (props.get('base_image_ref') or '').strip()
    if ref:
        kind = props.get('image_type')
        return ref, kind if kind in ('snapshot', 'backup') else 'snapshot'
    ref = (props.get('image_id') or '').strip()
    if ref and ref != image.id:
        return ref, 'volume'
    return None, None


def stores_of(image):
    """The stores an image is in, in the order Glance lists them."""
    listed = properties(image).get('stores')
    if listed:
        return tuple(s for s in listed.split(',') if s)
    return tuple(loc.get('metadata', {}).get('store')
                 for loc in image.locations or ()
                 if loc.get('metadata', {}).get('store'))


def importing_to(image):
    """Stores a copy-image task is still copying the image into."""
    value = properties(image).get('os_glance_importing_to_stores') or ''
    return tuple(s for s in value.split(',') if s)


def import_locked(image):
    """Whether an import task still holds the image's import lock."""
    return bool(properties(image).get('os_glance_import_task'))


def failed_into(image):
    """Stores the last copy-image task failed to copy the image into."""
    value = properties(image).get('os_glance_failed_import') or ''
    return tuple(s for s in value.split(',') if s)


def created_at(image):
    text = image.created_at or ''
    try:
        stamp = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return stamp


def _iso(stamp):
    return stamp.astimezone(datetime.timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%SZ')


class Filters(object):
    """Which images to look at.

    :param owner: a project id, or None for every image the caller sees.
    :param kinds: image kinds (:data:`KINDS`), or empty for all.
    :param older_than: a ``datetime.timedelta``: created before now minus
        it.
    :param newer_than: a ``datetime.timedelta``: created after now minus
        it.
    """

    def __init__(self, owner=None, kinds=(), older_than=None,
                 newer_than=None, now=None):
        self.owner = owner
        self.kinds = tuple(kinds)
        now = now or datetime.datetime.now(datetime.timezone.utc)
        self.before = now - older_than if older_than is not None else None
        self.after = now - newer_than if newer_than is not None else None

    def query(self):
        """Server-side filters for the listing (the rest is ours)."""
        query = {'status': 'active'}
        if self.owner:
            query['owner'] = self.owner
        # NOTE: Glance takes one operator per field, so with both ages
        # the second is checked on our side only.
        if self.before is not None:
            query['created_at'] = 'lt:%s' % _iso(self.before)
        elif self.after is not None:
            query['created_at'] = 'gt:%s' % _iso(self.after)
        return query

    def match(self, image, kind):
        if self.owner and image.owner != self.owner:
            return False
        if self.kinds and kind not in self.kinds:
            return False
        stamp = created_at(image)
        if self.before is not None and (stamp is None or
                                        stamp >= self.before):
            return False
        if self.after is not None and (stamp is None or stamp <= self.after):
            return False
        return True


def walk(image_proxy, filters, page_size=PAGE_SIZE):
    """Yield ``(image, base id, kind)`` for the images that name a base.

    The SDK follows Glance's ``next`` links (``limit``/``marker``) one
    page at a time, so at most one page of images is held.
    """
    for image in image_proxy.images(limit=page_size, **filters.query()):
        ref, kind = base_of(image)
        if ref and filters.match(image, kind):
            yield image, ref, kind
