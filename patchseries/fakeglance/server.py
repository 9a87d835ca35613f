"""Serve a WSGI app on 127.0.0.1, on a free port, in a daemon thread.

wsgiref hands the raw socket to the application as ``wsgi.input``; this
server wraps it so that a read never runs past the request body: bodies
are bounded by their Content-Length, and chunked bodies (glanceclient
streams uploads that way) are decoded.
"""

import socketserver
import threading
from wsgiref import simple_server


class _LimitedReader(object):
    def __init__(self, raw, length):
        self.raw = raw
        self.remaining = length

    def read(self, size=-1):
        if self.remaining <= 0:
            return b''
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        data = self.raw.read(size)
        self.remaining -= len(data)
        return data


class _ChunkedReader(object):
    def __init__(self, raw):
        self.raw = raw
        self.left = 0
        self.done = False

    def _next_chunk(self):
        line = self.raw.readline(65537)
        size = int(line.split(b';', 1)[0].strip() or b'0', 16)
        if size == 0:
            while self.raw.readline(65537) not in (b'\r\n', b'\n', b''):
                pass
            self.done = True
        self.left = size

    def read(self, size=-1):
        out = []
        want = size if size is not None and size >= 0 else None
        while not self.done and (want is None or want > 0):
            if self.left == 0:
                self._next_chunk()
                continue
            take = self.left if want is None else min(self.left, want)
            data = self.raw.read(take)
            if not data:
                self.done = True
                break
            out.append(data)
            self.left -= len(data)
            if want is not None:
                want -= len(data)
            if self.left == 0:
                self.raw.readline(3)
        return b''.join(out)


_INPUT_KEY = 'patchseries.input'


class _Handler(simple_server.WSGIRequestHandler):
    # NOTE: wsgiref's ServerHandler sets wsgi.input to the raw socket
    # after get_environ(), so the bounded reader travels under a key of
    # ours and _bounded_input() swaps it in.
    def get_environ(self):
        environ = super().get_environ()
        if 'chunked' in self.headers.get('Transfer-Encoding', '').lower():
            environ[_INPUT_KEY] = _ChunkedReader(self.rfile)
        else:
            length = int(self.headers.get('Content-Length') or 0)
            environ[_INPUT_KEY] = _LimitedReader(self.rfile, length)
        return environ

    def log_message(self, *args):
        pass


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


def _bounded_input(app):
    def wrapper(environ, start_response):
        environ['wsgi.input'] = environ.pop(_INPUT_KEY, environ['wsgi.input'])
        return app(environ, start_response)
    return wrapper


class LoopbackServer(object):
    """``app`` on ``http://127.0.0.1:<free port>`` until :meth:`stop`."""

    def __init__(self, app):
        self.httpd = simple_server.make_server(
            '127.0.0.1', 0, _bounded_input(app), server_class=_Server,
            handler_class=_Handler)
        self.port = self.httpd.server_port
        self.url = 'http://127.0.0.1:%d' % self.port
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(10)
