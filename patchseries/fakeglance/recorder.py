"""Every request the fake served, for assertions.

Tokens are hashed before they are kept, the way keystoneauth's session
logs them, so a recording can be printed or saved safely.
"""

import hashlib
import threading
import time

SECRET_HEADERS = ('x-auth-token', 'authorization', 'x-service-token')


def hash_secret(value):
    """``{SHA256}<hex>`` of a secret header value.

    >>> hash_secret('abc')[:16]
    '{SHA256}ba7816bf'
    """
    return '{SHA256}%s' % hashlib.sha256(value.encode('utf-8')).hexdigest()


class Recorder(object):
    """A thread-safe list of ``{'method', 'path', 'query', 'headers'}``."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries = []

    def record(self, method, path, query, headers):
        headers = dict((k.lower(), hash_secret(v)
                        if k.lower() in SECRET_HEADERS else v)
                       for k, v in headers.items())
        entry = {'method': method, 'path': path, 'query': query,
                 'headers': headers, 'time': time.time()}
        with self._lock:
            self._entries.append(entry)
        return entry

    def entries(self, method=None, path_suffix=None):
        with self._lock:
            entries = list(self._entries)
        return [e for e in entries
                if (method is None or e['method'] == method) and
                (path_suffix is None or e['path'].endswith(path_suffix))]

    def uploads(self):
        """The data uploads: ``PUT /v2/images/{id}/file``."""
        return self.entries('PUT', '/file')

    def clear(self):
        with self._lock:
            del self._entries[:]
