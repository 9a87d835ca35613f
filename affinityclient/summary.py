"""Images and GiB per move: from the stores an image is in, to a store.

A running total, so the audit can stream: one counter per store pair.
"""

import collections

GiB = 1024 ** 3


class Summary(object):
    def __init__(self):
        self._pairs = collections.OrderedDict()

    def add(self, finding):
        """Count one :class:`~affinityclient.audit.Finding`."""
        source = ','.join(finding.stores_now) or '-'
        for target in finding.missing:
            count, size = self._pairs.get((source, target), (0, 0))
            self._pairs[(source, target)] = (count + 1,
                                             size + finding.size)

    def rows(self):
        """``(from, to, images, GiB)``, sorted by store names."""
        return [(source, target, count, round(size / GiB, 3))
                for (source, target), (count, size)
                in sorted(self._pairs.items())]
