"""Count the SQL statements each request makes the real Glance run.

For the bench's P2: what naming a base image costs an upload is a few
database reads, and milliseconds on sqlite say little about a cloud's
MySQL. The number of statements, and which they are, says more. This
paste filter listens to SQLAlchemy's ``before_cursor_execute`` on every
engine and, per request, writes one JSON line (method, path, status,
statements) to the file named by ``PATCHSERIES_SQL_LOG``. It writes the
line before the answer leaves, so a client that got its answer finds
the line already there.

Only statements of the request's own thread count: Glance's task
threads (copy-image) are not part of the answer. Like
:mod:`patchseries.glance_identity`, this module is copied beside the
real Glance, whose environment does not have our package.
"""

import json
import os
import threading

LOG_ENV = 'PATCHSERIES_SQL_LOG'

_local = threading.local()


def _before_cursor_execute(conn, cursor, statement, parameters, context,
                           executemany):
    statements = getattr(_local, 'statements', None)
    if statements is not None:
        statements.append(' '.join(statement.split()))


def _listen():
    from sqlalchemy.engine import Engine
    from sqlalchemy import event
    if not event.contains(Engine, 'before_cursor_execute',
                          _before_cursor_execute):
        event.listen(Engine, 'before_cursor_execute', _before_cursor_execute)


class CountingMiddleware(object):

    def __init__(self, app, path):
        self.app = app
        self.path = path
        _listen()

    def __call__(self, environ, start_response):
        answer = {}

        def started(status, headers, exc_info=None):
            answer['status'] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        _local.statements = []
        try:
            # NOTE: the body is read here, so that the statements made
            # while it is produced count, and the line is written before
            # the answer is sent. Only small answers go through this.
            body = self.app(environ, started)
            try:
                chunks = list(body)
            finally:
                if hasattr(body, 'close'):
                    body.close()
        finally:
            statements, _local.statements = _local.statements, None
            with open(self.path, 'a') as f:
                f.write(json.dumps({
                    'method': environ.get('REQUEST_METHOD'),
                    'path': environ.get('PATH_INFO'),
                    'status': answer.get('status'),
                    'statements': statements}) + '\n')
        return chunks


def filter_factory(global_conf, **local_conf):
    path = os.environ[LOG_ENV]

    def make(app):
        return CountingMiddleware(app, path)
    return make


def read_log(path):
    """The requests logged so far, oldest first."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
