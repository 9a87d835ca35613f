"""The fake's WSGI application: Glance v2 routes, request -> response.

What it simplifies, on purpose:
- Visibility: an image is visible to its owner, to admins, and to all
  when ``public`` or ``community``; image members are not modelled, so a
  ``shared`` image is visible to its owner only.
- Policy: admin means the ``admin`` role (or no token at all, as Glance's
  unauthenticated context); ``copy-image`` needs admin, as Glance's
  default policy says. Of a policy file, :meth:`FakeGlance.set_policy`
  models one rule: ``colocate_image: "!"`` (nobody may have an upload
  co-located).
- Import methods: ``glance-direct``, which imports while answering, and
  ``copy-image``, whose copies run in a thread. A copy holds the image's
  import lock (``os_glance_import_task``) and has a task, shown by
  ``GET /v2/images/{id}/tasks``. It stages the image first and writes one
  store after the other, as Glance does; with ``direct_copy`` (Glance
  commit 11) and ``parallel_stores`` above 1 (``[image_import_opts]
  max_parallel_stores``), it reads the image once and writes up to that
  many stores from that read, without staging, and remembers it
  (:attr:`FakeGlance.direct_copies`) as Glance logs it.
"""

import http
import json
import os
import re
import threading
import urllib.parse
import uuid

from patchseries.fakeglance import errors
from patchseries.fakeglance import store as store_mod
from patchseries import glance_identity

BASE_REF_HEADER = 'x-openstack-base-image-ref'
STORE_HEADER = 'x-image-meta-store'

_ROUTES = (
    ('GET', r'^/?$', 'versions'),
    ('GET', r'^/versions/?$', 'versions'),
    ('GET', r'^/v2/schemas/image$', 'schema'),
    ('GET', r'^/v2/schemas/images$', 'schema'),
    ('POST', r'^/v2/images$', 'create'),
    ('GET', r'^/v2/images$', 'list'),
    ('GET', r'^/v2/images/(?P<image_id>[^/]+)$', 'show'),
    ('PATCH', r'^/v2/images/(?P<image_id>[^/]+)$', 'update'),
    ('DELETE', r'^/v2/images/(?P<image_id>[^/]+)$', 'delete'),
    ('PUT', r'^/v2/images/(?P<image_id>[^/]+)/file$', 'upload'),
    ('GET', r'^/v2/images/(?P<image_id>[^/]+)/file$', 'download'),
    ('GET', r'^/v2/images/(?P<image_id>[^/]+)/tasks$', 'image_tasks'),
    ('GET', r'^/v2/info/stores$', 'stores'),
    ('GET', r'^/v2/info/stores/detail$', 'stores_detail'),
    ('POST', r'^/v2/images/(?P<image_id>[^/]+)/locations$', 'add_location'),
    ('POST', r'^/v2/images/(?P<image_id>[^/]+)/import$', 'import'),
    ('PUT', r'^/v2/images/(?P<image_id>[^/]+)/stage$', 'stage'),
    ('GET', r'^/v2/info/import$', 'import_info'),
    ('DELETE', r'^/v2/stores/(?P<store_id>[^/]+)/(?P<image_id>[^/]+)$',
     'delete_from_store'),
)

# Glance's [DEFAULT] limit_param_default and api_limit_max.
PAGE_DEFAULT = 25
PAGE_MAX = 1000

_UUID_RE = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                      r'[0-9a-f]{12}$')


def image_schema():
    """A schema close enough to Glance's for glanceclient's models."""
    nullable_string = {'type': ['null', 'string']}
    properties = {
        'id': {'type': 'string'},
        'name': {'type': ['null', 'string'], 'maxLength': 255},
        'status': {'type': 'string'},
        'visibility': {'type': 'string', 'enum': [
            'community', 'public', 'private', 'shared']},
        'protected': {'type': 'boolean'},
        'os_hidden': {'type': 'boolean'},
        'checksum': nullable_string,
        'os_hash_algo': nullable_string,
        'os_hash_value': nullable_string,
        'owner': nullable_string,
        'size': {'type': ['null', 'integer']},
        'virtual_size': {'type': ['null', 'integer']},
        'container_format': nullable_string,
        'disk_format': nullable_string,
        'created_at': {'type': 'string'},
        'updated_at': {'type': 'string'},
        'tags': {'type': 'array', 'items': {'type': 'string'}},
        'min_ram': {'type': 'integer'},
        'min_disk': {'type': 'integer'},
        'stores': {'type': 'string'},
        'locations': {'type': 'array'},
        'direct_url': {'type': 'string'},
        'self': {'type': 'string'},
        'file': {'type': 'string'},
        'schema': {'type': 'string'},
    }
    return {'name': 'image', 'properties': properties,
            'additionalProperties': {'type': 'string'},
            'links': [{'rel': 'self', 'href': '{self}'},
                      {'rel': 'enclosure', 'href': '{file}'},
                      {'rel': 'describedby', 'href': '{schema}'}]}


class Request(object):
    def __init__(self, environ):
        self.environ = environ
        self.method = environ['REQUEST_METHOD']
        self.path = environ.get('PATH_INFO', '/')
        self.query = dict(urllib.parse.parse_qsl(
            environ.get('QUERY_STRING', '')))
        self.headers = dict(
            (k[5:].replace('_', '-').lower(), v)
            for k, v in environ.items() if k.startswith('HTTP_'))
        if environ.get('CONTENT_TYPE'):
            self.headers['content-type'] = environ['CONTENT_TYPE']
        if environ.get('CONTENT_LENGTH'):
            self.headers['content-length'] = environ['CONTENT_LENGTH']
        self.body_stream = environ['wsgi.input']
        # NOTE: like Glance without keystone, a token that carries no
        # identity of ours (keystoneauth's noauth sends "notused") makes
        # the request an admin without a project.
        self.identity = glance_identity.parse_token(
            self.headers.get('x-auth-token'))
        self.project = self.identity and self.identity['project']
        self.is_admin = (self.identity is None or
                         'admin' in self.identity['roles'])

    def json(self):
        length = int(self.headers.get('content-length') or 0)
        raw = self.body_stream.read(length) if length else b''
        try:
            return json.loads(raw or b'null')
        except ValueError:
            raise errors.BadRequest('the body is not JSON')


class FakeGlance(object):
    """The WSGI application.

    :param images: the :class:`store.ImageStore`.
    :param recorder: a :class:`recorder.Recorder`.
    :param faults: a :class:`faults.Faults`.
    :param base_image_ref_support: False answers like Glance 33.0.0,
        which ignores the base image ref and accepts reserved stores.
    :param colocation: copy into the base image's other stores after a
        base-ref upload (Glance's ``base_image_colocation``).
    :param base_ref_property: without the header, take the image's own
        ``base_image_ref`` property (Glance's ``base_image_ref_property``).
    :param colocate_policy: honour a ``colocate_image`` rule (a series
        without that policy copies whatever the rule says).
    :param parallel_stores: Glance's ``[image_import_opts]
        max_parallel_stores``.
    :param direct_copy: with ``parallel_stores`` above 1, copy without
        staging, one read for all target stores (Glance commit 11).
    """

    def __init__(self, images, recorder, faults, base_image_ref_support=True,
                 colocation=True, base_ref_property=True,
                 colocate_policy=True, parallel_stores=1, direct_copy=True):
        self.parallel_stores = parallel_stores
        self.direct_copy = direct_copy
        # {image id: [[target stores of one direct copy], ...]}
        self.direct_copies = {}
        # {image id: [task, ...]}, the tasks of its copies.
        self.tasks = {}
        self.colocate_policy = colocate_policy
        self.images = images
        self.recorder = recorder
        self.faults = faults
        self.base_image_ref_support = base_image_ref_support
        self.colocation = colocation
        self.base_ref_property = base_ref_property
        self.copy_failures = set()
        self.policy = {}
        self._copies = []

    def set_policy(self, rules):
        """Replace the policy rules, as an operator edits policy.yaml."""
        self.policy = dict(rules or {})

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.recorder.record(request.method, request.path, request.query,
                             request.headers)
        kind, params = self._route(request)
        fault = self.faults.take(kind or 'any')
        if fault:
            self.faults.wait(fault)
            if fault.status:
                return self._error(start_response, errors.HTTPError(
                    'injected %s' % fault.name), fault.status)
        try:
            if kind is None:
                raise errors.NotFound('no route for %s %s'
                                      % (request.method, request.path))
            handler = getattr(self, '_do_%s' % kind)
            return handler(request, start_response, **params)
        except errors.HTTPError as exc:
            return self._error(start_response, exc, exc.status)

    # Plumbing ------------------------------------------------------------

    @staticmethod
    def _route(request):
        for method, pattern, kind in _ROUTES:
            match = re.match(pattern, request.path)
            if match and method == request.method:
                return kind, match.groupdict()
        return None, {}

    @staticmethod
    def _respond(start_response, status, body=None, headers=()):
        reasons = {200: 'OK', 201: 'Created', 202: 'Accepted',
                   204: 'No Content', 300: 'Multiple Choices'}
        payload = b'' if body is None else json.dumps(body).encode('utf-8')
        all_headers = [('Content-Length', str(len(payload))),
                       ('x-openstack-request-id',
                        'req-%s' % uuid.uuid4())] + list(headers)
        if body is not None:
            all_headers.append(('Content-Type', 'application/json'))
        start_response('%d %s' % (status, reasons.get(status, '')),
                       all_headers)
        return [payload]

    def _error(self, start_response, exc, status):
        # Glance's errors are webob's plain-text pages.
        title = '%d %s' % (status, http.HTTPStatus(status).phrase)
        body = ('%s\n\n%s\n\n   ' % (title, exc.message)).encode('utf-8')
        start_response(title, [('Content-Type', 'text/plain; charset=UTF-8'),
                               ('Content-Length', str(len(body)))])
        return [body]

    def _visible(self, request, record):
        return (request.is_admin or record['owner'] == request.project or
                record['visibility'] in ('public', 'community'))

    def _find(self, request, image_id):
        record = self.images.get(image_id)
        if record is None or not self._visible(request, record):
            raise errors.NotFound('No image found with ID %s' % image_id)
        return record

    def _view(self, record):
        view = dict((k, v) for k, v in record.items() if k != 'locations')
        view['locations'] = [dict(loc) for loc in record['locations']]
        stores = [loc['metadata']['store'] for loc in record['locations']]
        if stores:
            view['stores'] = ','.join(stores)
        view['self'] = '/v2/images/%s' % record['id']
        view['file'] = '/v2/images/%s/file' % record['id']
        view['schema'] = '/v2/schemas/image'
        return view

    # Handlers ------------------------------------------------------------

    def _do_versions(self, request, start_response):
        host = request.headers.get('host', 'localhost')
        return self._respond(start_response, 300, {'versions': [{
            'id': 'v2.17', 'status': 'CURRENT',
            'links': [{'rel': 'self', 'href': 'http://%s/v2/' % host}]}]})

    def _do_schema(self, request, start_response):
        schema = image_schema()
        if request.path.endswith('/images'):
            schema = {'name': 'images', 'properties': {
                'images': {'type': 'array', 'items': schema}}}
        return self._respond(start_response, 200, schema)

    def _do_create(self, request, start_response):
        body = request.json() or {}
        if not isinstance(body, dict):
            raise errors.BadRequest('the body must be a JSON object')
        for key in store_mod.READ_ONLY:
            if key in body and key != 'id':
                raise errors.Forbidden("Attribute '%s' is read-only." % key)
        owner = request.project
        record = self.images.create(dict(body), owner)
        return self._respond(start_response, 201, self._view(record),
                             [('Location', '/v2/images/%s' % record['id'])])

    def _do_list(self, request, start_response):
        records = [r for r in self.images.list()
                   if self._visible(request, r) and
                   all(str(r.get(k)) == v for k, v in request.query.items()
                       if k in ('name', 'status', 'owner', 'visibility'))]
        # Pages as Glance's: ``limit`` (default 25, at most 1000) after
        # ``marker``, and a ``next`` link while a page is full. The order
        # is creation order, not Glance's created_at desc; paging clients
        # must not care.
        try:
            limit = min(int(request.query.get('limit', PAGE_DEFAULT)),
                        PAGE_MAX)
        except ValueError:
            raise errors.BadRequest('limit param must be an integer')
        if limit < 0:
            raise errors.BadRequest('limit param must be positive')
        marker = request.query.get('marker')
        if marker:
            ids = [r['id'] for r in records]
            if marker not in ids:
                raise errors.BadRequest('marker %s could not be found'
                                        % marker)
            records = records[ids.index(marker) + 1:]
        page = records[:limit]
        body = {'images': [self._view(r) for r in page],
                'first': '/v2/images', 'schema': '/v2/schemas/images'}
        if page and len(records) > limit:
            query = dict(request.query, marker=page[-1]['id'], limit=limit)
            body['next'] = '/v2/images?%s' % urllib.parse.urlencode(
                sorted(query.items()))
        return self._respond(start_response, 200, body)

    def _do_show(self, request, start_response, image_id):
        return self._respond(start_response, 200,
                             self._view(self._find(request, image_id)))

    def _do_update(self, request, start_response, image_id):
        record = self._find(request, image_id)
        if not (request.is_admin or record['owner'] == request.project):
            raise errors.Forbidden('You are not permitted to modify '
                                   'this image.')
        if 'json-patch' not in request.headers.get('content-type', ''):
            raise errors.UnsupportedMediaType('use a JSON patch')
        changes, removals = {}, []
        for op in request.json() or []:
            name = op.get('path', '').lstrip('/')
            if '/' in name or not name:
                raise errors.BadRequest('unsupported path %r' % op.get('path'))
            if name in store_mod.READ_ONLY:
                raise errors.Forbidden("Attribute '%s' is read-only." % name)
            if op.get('op') in ('add', 'replace'):
                changes[name] = op.get('value')
            elif op.get('op') == 'remove':
                removals.append(name)
            else:
                raise errors.BadRequest('unsupported op %r' % op.get('op'))
        record = self.images.update(image_id, changes, removals)
        return self._respond(start_response, 200, self._view(record))

    def _do_delete(self, request, start_response, image_id):
        record = self._find(request, image_id)
        if not (request.is_admin or record['owner'] == request.project):
            raise errors.Forbidden('You are not permitted to delete '
                                   'this image.')
        if record['protected']:
            raise errors.Forbidden('Image %s is protected' % image_id)
        self.images.delete(image_id)
        return self._respond(start_response, 204)

    def _do_stores(self, request, start_response):
        return self._respond(start_response, 200, self.images.info_stores())

    def _do_stores_detail(self, request, start_response):
        # NOTE: Glance's default policy: admins and services only.
        if not (request.is_admin or 'service' in request.identity['roles']):
            raise errors.Forbidden('You are not authorized to view the '
                                   'details of the stores.')
        return self._respond(start_response, 200,
                             self.images.info_stores_detail())

    def _do_add_location(self, request, start_response, image_id):
        """Glance's add-location API (2024.2), for image volumes.

        Glance finds the cinder store of a ``cinder://`` location by the
        image volume's type, whatever store the URL names; the fake, which
        cannot ask Cinder, takes its only cinder store.
        """
        record = self._find(request, image_id)
        body = request.json() or {}
        url = body.get('url') or ''
        extra = set(body.get('validation_data') or {}) - {
            'os_hash_algo', 'os_hash_value'}
        if extra:
            # Glance's schema: additionalProperties is false.
            raise errors.BadRequest('Additional properties are not allowed '
                                    '(%s were unexpected)'
                                    % ', '.join(sorted(extra)))
        if record['status'] != 'queued':
            raise errors.Conflict('The location can only be added to an '
                                  'image in queued status')
        cinder = [s.id for s in self.images.stores.values()
                  if s.type == 'cinder']
        if not url.startswith('cinder://') or len(cinder) != 1:
            raise errors.BadRequest('the fake adds cinder:// locations to '
                                    'its one cinder store only')
        volume_id = url.rsplit('/', 1)[-1]
        self.images.add_location(image_id, cinder[0],
                                 url='cinder://%s/%s' % (cinder[0],
                                                         volume_id))
        self.images.update(image_id, {'status': 'active'})
        return self._respond(start_response, 202)

    def _do_download(self, request, start_response, image_id):
        record = self._find(request, image_id)
        if not record['locations']:
            return self._respond(start_response, 204)
        start_response('200 OK', [
            ('Content-Type', 'application/octet-stream'),
            ('Content-Length', str(record['size'])),
            ('Content-MD5', record['checksum'])])
        return self.images.read(image_id)

    def _queued_for_data(self, request, image_id, next_status):
        """The image, if the requester may give it data now."""
        record = self._find(request, image_id)
        if not (request.is_admin or record['owner'] == request.project):
            raise errors.Forbidden('You are not permitted to upload data '
                                   'for this image.')
        if record['status'] != 'queued':
            raise errors.Conflict('Image status transition from %s to '
                                  '%s is not allowed'
                                  % (record['status'], next_status))
        return record

    def _do_upload(self, request, start_response, image_id):
        record = self._queued_for_data(request, image_id, 'saving')
        store_id, base = self.choose_store(request, record)
        self.images.write(image_id, request.body_stream, store_id)
        if base is not None and self.colocation:
            self._colocate(image_id, store_id, base)
        return self._respond(start_response, 204)

    def _do_stage(self, request, start_response, image_id):
        self._queued_for_data(request, image_id, 'uploading')
        self.images.stage(image_id, request.body_stream)
        return self._respond(start_response, 204)

    def _do_import(self, request, start_response, image_id):
        record = self._find(request, image_id)
        body = request.json() or {}
        method = (body.get('method') or {}).get('name')
        if method == 'glance-direct':
            return self._glance_direct(request, start_response, record, body)
        if method != 'copy-image':
            raise errors.BadRequest('the fake imports with glance-direct '
                                    'and copy-image only')
        if not request.is_admin:
            raise errors.Forbidden('copy-image is allowed to admins only')
        if record['status'] != 'active':
            raise errors.Conflict('Image needs to be in active state to '
                                  'copy it')
        if record.get('os_glance_import_task'):
            # NOTE: Glance's import lock, before the stores are looked at.
            raise errors.Conflict('Image has active task')
        have = set(loc['metadata']['store'] for loc in record['locations'])
        if body.get('all_stores'):
            targets = [s for s in self.images.stores
                       if self.images.writable(s) and s not in have]
        else:
            targets = list(body.get('stores') or [])
            for store_id in targets:
                if store_id not in self.images.stores:
                    raise errors.BadRequest('Unknown store %s' % store_id)
        self._start_copies(image_id, targets,
                           body.get('all_stores_must_succeed', True))
        return self._respond(start_response, 202)

    def _do_image_tasks(self, request, start_response, image_id):
        self._find(request, image_id)
        with self.images.lock:
            tasks = [dict(task) for task in self.tasks.get(image_id, [])]
        return self._respond(start_response, 200, {'tasks': tasks})

    def _glance_direct(self, request, start_response, record, body):
        """Import the staged data into the requested stores.

        The stores come from the ``stores`` list, else the store header,
        else the default store. With the series, reserved stores are
        refused before anything moves. Glance 33 imported into them: the
        tasks store took the data; the staging store failed (the staged
        file is already there), leaving the image ``importing`` when all
        stores had to succeed, and ``queued`` otherwise.
        """
        if not (request.is_admin or record['owner'] == request.project):
            raise errors.Forbidden('You are not permitted to modify '
                                   'this image.')
        if record['status'] != 'uploading':
            raise errors.Conflict("Image needs to be staged before "
                                  "'glance-direct' method can be used")
        if 'stores' in body:
            stores = body['stores']
        else:
            stores = [request.headers.get(STORE_HEADER, self.images.default)]
        for store_id in stores:
            if (store_id.startswith(store_mod.RESERVED_PREFIX) and
                    self.base_image_ref_support):
                raise errors.BadRequest('Store %s is reserved for Glance'
                                        % store_id)
            if store_id not in self.images.stores:
                # Glance answers an unknown store of an import with 409.
                raise errors.Conflict('Unknown scheme %s' % store_id)
        must_succeed = body.get('all_stores_must_succeed', True)
        image_id = record['id']
        self.images.update(image_id, {
            'status': 'importing',
            'os_glance_importing_to_stores': ','.join(stores),
            'os_glance_failed_import': ''})
        failed = []
        for store_id in stores:
            if store_id == store_mod.RESERVED_STORES[0]:
                failed.append(store_id)
                continue
            with open(self.images.staged_file(image_id), 'rb') as staged:
                self.images.write(image_id, staged, store_id)
        changes = {'os_glance_importing_to_stores': '',
                   'os_glance_failed_import': ','.join(failed)}
        if failed and not self.images.get(image_id)['locations']:
            changes['status'] = 'importing' if must_succeed else 'queued'
        self.images.update(image_id, changes)
        if not failed:
            os.unlink(self.images.staged_file(image_id))
        return self._respond(start_response, 202)

    def _do_import_info(self, request, start_response):
        return self._respond(start_response, 200, {'import-methods': {
            'description': 'Import methods available.', 'type': 'array',
            'value': ['glance-direct', 'copy-image']}})

    def _do_delete_from_store(self, request, start_response, store_id,
                              image_id):
        """Remove one location, as Glance's ``delete_from_store``."""
        record = self._find(request, image_id)
        if not request.is_admin:
            # Glance's default delete_image_location policy: admin only.
            raise errors.Forbidden('You are not permitted to delete '
                                   'locations of this image.')
        stores = [loc['metadata']['store'] for loc in record['locations']]
        if store_id not in stores:
            raise errors.NotFound('Image %s is not in store %s'
                                  % (image_id, store_id))
        if len(stores) == 1:
            raise errors.Conflict('Cannot delete the last location of '
                                  'image %s' % image_id)
        self.images.remove_location(image_id, store_id)
        return self._respond(start_response, 204)

    # Store choice --------------------------------------------------------

    def choose_store(self, request, record=None):
        """The upload's store, and the base image that placed it, if any.

        The order of the patched Glance: the store header, then the base
        image ref header, then the image's own ``base_image_ref``
        property (which every Nova release sets on its snapshots), then
        the default store. A header that is there but unusable does not
        fall back to the property, as in Glance.

        :param record: the image the data is for.
        """
        store_id = request.headers.get(STORE_HEADER)
        if store_id:
            if (store_id.startswith(store_mod.RESERVED_PREFIX) and
                    self.base_image_ref_support):
                raise errors.BadRequest('Store %s is reserved for Glance'
                                        % store_id)
            if store_id not in self.images.stores:
                raise errors.BadRequest('Unknown backend %s' % store_id)
            return store_id, None
        if self.base_image_ref_support:
            ref = request.headers.get(BASE_REF_HEADER)
            if ref is None and record is not None and self.base_ref_property:
                ref = record.get('base_image_ref')
            base = self._usable_base(request, ref)
            if base is not None:
                for location in base['locations']:
                    if self.images.writable(location['metadata']['store']):
                        return location['metadata']['store'], base
        return self.images.default, None

    def _usable_base(self, request, ref):
        """The base image record, or None for every kind of unusable ref.

        An image the requester may not see is treated exactly like one
        that does not exist.
        """
        if not ref or not _UUID_RE.match(ref.strip().lower()):
            return None
        record = self.images.get(ref.strip().lower())
        if (record is None or not self._visible(request, record) or
                record['status'] != 'active'):
            return None
        return record

    # Copies --------------------------------------------------------------

    def _colocate(self, image_id, store_id, base):
        targets = []
        for location in base['locations']:
            candidate = location['metadata']['store']
            if (candidate != store_id and candidate not in targets and
                    self.images.writable(candidate)):
                targets.append(candidate)
        if (targets and self.colocate_policy and
                self.policy.get('colocate_image') == '!'):
            # NOTE: as Glance records a refused co-location: the upload
            # stands, the stores it was not copied to are failed ones.
            self.images.update(image_id, {
                'os_glance_failed_import': ','.join(targets)})
            return
        self._start_copies(image_id, targets)

    def _start_copies(self, image_id, targets, must_succeed=True):
        if not targets:
            return
        task = {'id': str(uuid.uuid4()), 'image_id': image_id,
                'type': 'api_image_import', 'status': 'processing'}
        with self.images.lock:
            self.tasks.setdefault(image_id, []).append(task)
            self.images.update(image_id, {
                'os_glance_import_task': task['id'],
                'os_glance_importing_to_stores': ','.join(targets),
                'os_glance_failed_import': ''})
        thread = threading.Thread(target=self._copy,
                                  args=(image_id, targets, task,
                                        must_succeed),
                                  daemon=True)
        self._copies.append(thread)
        thread.start()

    def _copy(self, image_id, targets, task, must_succeed=True):
        try:
            if self.direct_copy and self.parallel_stores > 1:
                done = self._copy_directly(image_id, targets)
            else:
                done = self._copy_staged(image_id, targets, must_succeed)
        finally:
            with self.images.lock:
                task['status'] = 'success'
                if self.images.get(image_id) is not None:
                    self.images.update(image_id, {},
                                       ['os_glance_import_task'])
        return done

    def _copy_staged(self, image_id, targets, must_succeed):
        """Stage the image, then write one store after the other."""
        try:
            self.images.stage_copy(image_id)
        except (OSError, KeyError):
            return False
        try:
            for store_id in targets:
                fault = self.faults.take('copy')
                failed = (store_id in self.copy_failures or
                          bool(fault and fault.status))
                if not failed:
                    try:
                        if not self.images.copy_to(
                                image_id, store_id,
                                pause=fault.delay if fault else 0.0,
                                source=self.images.staged_file(image_id)):
                            return False
                    except (OSError, KeyError):
                        failed = True
                if not self._copied(image_id, [store_id],
                                    [store_id] if failed else []):
                    return False
        finally:
            staged = self.images.staged_file(image_id)
            if os.path.exists(staged):
                os.unlink(staged)
        return True

    def _copy_directly(self, image_id, targets):
        """One read of the image per ``parallel_stores`` target stores."""
        with self.images.lock:
            self.direct_copies.setdefault(image_id, []).append(list(targets))
        for start in range(0, len(targets), self.parallel_stores):
            batch = targets[start:start + self.parallel_stores]
            fault = self.faults.take('copy')
            failed = [s for s in batch if s in self.copy_failures or
                      (fault and fault.status)]
            written = self.images.copy_to_many(
                image_id, [s for s in batch if s not in failed],
                pause=fault.delay if fault else 0.0)
            if written is None:
                return False
            failed += [s for s in batch if s not in failed and
                       s not in written]
            if not self._copied(image_id, batch, failed):
                return False
        return True

    def _copied(self, image_id, stores, failed):
        """Take ``stores`` off the pending ones, list the ``failed``.

        :returns: False when the image is gone.
        """
        with self.images.lock:
            record = self.images.get(image_id)
            if record is None:
                return False
            pending = [s for s in record.get(
                'os_glance_importing_to_stores', '').split(',')
                if s and s not in stores]
            changes = {'os_glance_importing_to_stores': ','.join(pending)}
            if failed:
                done = [s for s in record.get(
                    'os_glance_failed_import', '').split(',') if s]
                changes['os_glance_failed_import'] = ','.join(
                    done + list(failed))
            self.images.update(image_id, changes)
        return True

    def wait_for_copies(self, timeout=30.0):
        """Join the copy threads; True when all of them ended."""
        for thread in list(self._copies):
            thread.join(timeout)
        return not any(t.is_alive() for t in self._copies)
