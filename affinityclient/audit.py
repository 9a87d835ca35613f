"""Which images are not where their base image is.

An image is *misplaced* when its base image is active and visible and
the image is not in every writable store of the base. An image whose
base cannot be judged (deleted, private to someone else, not active) is
reported with the reason and nothing is wanted for it. An image that
Glance is still copying is misplaced until the copy ends; its reason says
so.
"""

import collections
import logging

from affinityclient import basecache
from affinityclient import images

LOG = logging.getLogger(__name__)


class Finding(collections.namedtuple('Finding', [
        'image', 'name', 'owner', 'kind', 'base', 'size', 'stores_now',
        'stores_wanted', 'missing', 'reason'])):
    """One audited image.

    ``stores_wanted`` are the writable stores of the base; ``missing``
    those of them the image is not in (what a repair copies into).
    """

    @property
    def misplaced(self):
        return bool(self.missing)


def _reason(missing, copying):
    if copying:
        return 'copy in progress into %s' % ', '.join(copying)
    return 'not in %s, where its base image is' % ', '.join(missing)


def judge(image, base_id, kind, base, stores, only_store=None):
    """The :class:`Finding` of one image, or None when it is in place.

    :param base: the :class:`basecache.Base` of ``base_id``.
    :param stores: the :class:`stores.Stores` of this Glance.
    :param only_store: look at this target store only.
    """
    now = images.stores_of(image)
    common = dict(image=image.id, name=image.name, owner=image.owner,
                  kind=kind, base=base_id, size=image.size or 0,
                  stores_now=now)
    if base.problem:
        if only_store:
            return None
        return Finding(stores_wanted=(), missing=(), reason=base.problem,
                       **common)
    wanted = stores.writable_of(base.stores)
    missing = tuple(s for s in wanted if s not in now)
    if only_store:
        missing = tuple(s for s in missing if s == only_store)
    if not missing:
        return None
    copying = tuple(s for s in images.importing_to(image) if s in missing)
    return Finding(stores_wanted=wanted, missing=missing,
                   reason=_reason(missing, copying), **common)


def audit(image_proxy, stores, filters, only_store=None, cache_size=None,
          page_size=images.PAGE_SIZE):
    """Yield a :class:`Finding` for every image out of place.

    :param image_proxy: openstacksdk's image proxy.
    :param stores: the :class:`stores.Stores` of this Glance.
    :param filters: an :class:`images.Filters`.
    :param only_store: report only images missing from this store.
    """
    cache = basecache.BaseCache(image_proxy,
                                cache_size or basecache.SIZE)
    seen = 0
    for image, base_id, kind in images.walk(image_proxy, filters,
                                            page_size=page_size):
        seen += 1
        finding = judge(image, base_id, kind, cache.get(base_id), stores,
                        only_store)
        if finding is not None:
            yield finding
    LOG.debug('audit: %d images with a base, %d base lookups', seen,
              cache.fetches)
