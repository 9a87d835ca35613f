"""The SQL statement counter that bench P2 puts in front of the real Glance."""

import json
import os
import threading

import fixtures
import sqlalchemy

from patchseries.bench import p2
from patchseries import glance_sqlcount
from tests import base


class TestCountingMiddleware(base.TestCase):

    def setUp(self):
        super().setUp()
        self.log = os.path.join(self.tmp, 'sql.jsonl')
        self.useFixture(fixtures.EnvironmentVariable(
            glance_sqlcount.LOG_ENV, self.log))
        self.engine = sqlalchemy.create_engine(
            'sqlite:///%s' % os.path.join(self.tmp, 'db.sqlite'))
        self.addCleanup(self.engine.dispose)

    def app(self, environ, start_response):
        with self.engine.connect() as conn:
            for _ in range(int(environ.get('QUERY_STRING') or 0)):
                conn.execute(sqlalchemy.text('SELECT  1'))
        start_response('204 No Content', [])
        return [b'']

    def call(self, method, path, statements):
        app = glance_sqlcount.filter_factory({})(self.app)
        environ = {'REQUEST_METHOD': method, 'PATH_INFO': path,
                   'QUERY_STRING': str(statements)}
        return b''.join(app(environ, lambda status, headers, exc=None: None))

    def test_one_line_per_request_with_its_statements(self):
        self.call('PUT', '/v2/images/a/file', 3)
        self.call('GET', '/v2/images/a', 0)
        entries = glance_sqlcount.read_log(self.log)
        self.assertEqual(2, len(entries))
        self.assertEqual({'method': 'PUT', 'path': '/v2/images/a/file',
                          'status': 204, 'statements': ['SELECT 1'] * 3},
                         entries[0])
        self.assertEqual([], entries[1]['statements'])

    def test_statements_of_other_threads_do_not_count(self):
        ran = []

        def elsewhere():
            with self.engine.connect() as conn:
                ran.append(conn.execute(sqlalchemy.text('SELECT 2'))
                           .scalar())

        def app(environ, start_response):
            thread = threading.Thread(target=elsewhere)
            thread.start()
            thread.join()
            start_response('200 OK', [])
            return [b'{}']

        counted = glance_sqlcount.filter_factory({})(app)
        body = counted({'REQUEST_METHOD': 'GET', 'PATH_INFO': '/x'},
                       lambda *a: None)
        self.assertEqual([b'{}'], body)
        self.assertEqual([2], ran)
        with open(self.log) as f:
            self.assertEqual([], json.loads(f.readline())['statements'])

    def test_upload_statements_are_found_by_image(self):
        uploads = p2.UploadStatements(self.log)
        self.call('PUT', '/v2/images/a/file', 2)
        self.call('GET', '/v2/images/a', 5)
        self.assertEqual(['SELECT 1'] * 2, uploads.of('a'))
        self.call('PUT', '/v2/images/b/file', 1)
        self.assertEqual(['SELECT 1'], uploads.of('b'))
        exc = self.assertRaises(p2.bench.BenchError, uploads.of, 'a')
        self.assertIn('no statements for the upload to a', str(exc))
