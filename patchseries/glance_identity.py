"""Who is asking: a test-only token that carries project, user and roles.

Our end-to-end runs have no keystone. Clients send a token made by
:func:`make_token` as ``X-Auth-Token``; the fake Glance reads it with
:func:`parse_token`, and the real Glance we launch gets the same
identity from :class:`IdentityMiddleware`, which turns the token into the
headers keystonemiddleware would have set. Without a token a request is
an admin without a project, as Glance's unauthenticated context is.

This module uses the standard library only: it is copied next to the real
Glance, whose environment does not have our package.
"""

PREFIX = 'test-identity:'


def make_token(project, user='user', roles=('member', 'reader')):
    """A token for ``project``.

    >>> make_token('p1', 'u1', ['admin'])
    'test-identity:project=p1;user=u1;roles=admin'
    """
    return '%sproject=%s;user=%s;roles=%s' % (PREFIX, project, user,
                                              ','.join(roles))


def parse_token(token):
    """``{'project', 'user', 'roles'}`` from a token, or None.

    >>> parse_token(make_token('p1', 'u1', ['member']))['roles']
    ['member']
    >>> parse_token('not-ours') is None
    True
    """
    if not token or not token.startswith(PREFIX):
        return None
    fields = dict(part.partition('=')[::2]
                  for part in token[len(PREFIX):].split(';'))
    if not fields.get('project'):
        return None
    return {'project': fields['project'], 'user': fields.get('user', 'user'),
            'roles': [r for r in fields.get('roles', '').split(',') if r]}


class IdentityMiddleware(object):
    """WSGI middleware: our token -> keystonemiddleware's headers."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        for key in ('HTTP_X_IDENTITY_STATUS', 'HTTP_X_PROJECT_ID',
                    'HTTP_X_TENANT_ID', 'HTTP_X_USER_ID', 'HTTP_X_ROLES'):
            environ.pop(key, None)
        identity = parse_token(environ.get('HTTP_X_AUTH_TOKEN'))
        environ['HTTP_X_IDENTITY_STATUS'] = 'Confirmed'
        if identity:
            environ.update({
                'HTTP_X_PROJECT_ID': identity['project'],
                'HTTP_X_TENANT_ID': identity['project'],
                'HTTP_X_USER_ID': identity['user'],
                'HTTP_X_ROLES': ','.join(identity['roles']),
            })
        else:
            # As Glance's unauthenticated context: an admin, no project.
            environ.update({'HTTP_X_USER_ID': 'admin',
                            'HTTP_X_ROLES': 'admin'})
        return self.app(environ, start_response)


def filter_factory(global_conf, **local_conf):
    """paste.deploy entry point of :class:`IdentityMiddleware`."""
    return IdentityMiddleware
