"""Faults armed per kind of request and per count.

A fault is named for what the client sees: ``http_503`` (any status
works: ``http_409``, ``http_500``) answers with that status instead of
serving the request, ``slow`` delays the answer. Each fault fires for the
next ``count`` requests of its kind and then disarms itself.

``copy`` is not a request: it is one store copy of a co-location or
``copy-image`` import, which ``slow`` pauses after its first chunk (the
copy is then observably in progress) and ``http_NNN`` makes fail.
"""

import re
import threading
import time

KINDS = ('any', 'versions', 'schema', 'create', 'list', 'show', 'update',
         'delete', 'upload', 'download', 'stores', 'stores_detail', 'import',
         'add_location', 'import_info', 'delete_from_store', 'stage', 'copy')


class Fault(object):
    def __init__(self, name, kind, count, delay=0.0):
        if kind not in KINDS:
            raise ValueError('unknown request kind %r; kinds: %s'
                             % (kind, ', '.join(KINDS)))
        match = re.match(r'^http_(\d{3})$', name)
        if not match and name != 'slow':
            raise ValueError('unknown fault %r; use http_NNN or slow' % name)
        self.name = name
        self.kind = kind
        self.remaining = count
        self.status = int(match.group(1)) if match else None
        self.delay = delay


class Faults(object):
    def __init__(self):
        self._lock = threading.Lock()
        self._armed = []

    def arm(self, name, kind='any', count=1, delay=0.0):
        """Arm ``name`` for the next ``count`` requests of ``kind``."""
        fault = Fault(name, kind, count, delay)
        with self._lock:
            self._armed.append(fault)
        return fault

    def clear(self):
        with self._lock:
            del self._armed[:]

    def take(self, kind):
        """The fault that fires for this request, if any (and count it).

        A fault armed for ``any`` request never fires on a ``copy``.
        """
        kinds = (kind,) if kind == 'copy' else (kind, 'any')
        with self._lock:
            for fault in self._armed:
                if fault.kind in kinds and fault.remaining > 0:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._armed.remove(fault)
                    return fault
        return None

    @staticmethod
    def wait(fault):
        if fault.delay:
            time.sleep(fault.delay)
