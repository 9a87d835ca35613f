"""Run a real Glance API for end-to-end checks.

The Glance installed in a ``verify`` test environment serves under
gunicorn (the ``glance-api`` command is gone in Glance 33) on 127.0.0.1,
with sqlite and file stores under one folder. Glance 30 (2025.1) and
later ship the WSGI module ``glance.wsgi.api``; Glance 28 (2024.1) has
only the application factory it wraps,
``glance.common.wsgi_app:init_app``, which gunicorn calls itself. Both
build the same application from the same configuration, without
eventlet. Its paste pipeline takes project, user and roles from our
test token
(:mod:`patchseries.glance_identity`), so multi-project cases run without
keystone; a request without that token is an admin without a project.
Its policy file starts empty (Glance's defaults) and can be changed while
it runs (:meth:`RealGlance.set_policy`): oslo.policy reads the file again
when it changes. Glance's enforcer merges a new file into the rules it
has (``overwrite=False``), so a rule is put back by writing its default,
which Glance itself says.
"""


import contextlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from patchseries import exceptions
from patchseries import glance_identity
from patchseries import glance_sqlcount

LOG = logging.getLogger(__name__)

# Which WSGI entry point the Glance under test has.
_HAS_WSGI_MODULE = (
    'import os, glance; print(os.path.exists(os.path.join('
    'os.path.dirname(glance.__file__), "wsgi", "api.py")))')
WSGI_MODULE = 'glance.wsgi.api:application'
WSGI_FACTORY = 'glance.common.wsgi_app:init_app()'

# Glance's own defaults, from the Glance under test.
_DEFAULT_RULES = (
    'import json; from glance import policies; '
    'print(json.dumps(dict((r.name, r.check_str) '
    'for r in policies.list_rules())))')

WRITABLE_STORES = ('store1', 'store2', 'store3')

# What Glance commit 11 logs as a copy-image starts without staging.
_DIRECT_COPY_RE = re.compile(
    r'Copying image (?P<image>[0-9a-f-]+) directly to stores '
    r'(?P<stores>[^ ,]+(?:,[^ ,]+)*), \d+ at a time')

_PASTE = """\
[composite:glance-api]
paste.composite_factory = glance.api:root_app_factory
/: api
/healthcheck: healthcheck

[composite:api]
paste.composite_factory = glance.api:pipeline_factory
default = versionnegotiation {sqlcount}testidentity context rootapp

[composite:rootapp]
paste.composite_factory = glance.api:root_app_factory
/: apiversions
/v2: apiv2app

[app:apiversions]
paste.app_factory = glance.api.versions:create_resource

[app:apiv2app]
paste.app_factory = glance.api.v2.router:API.factory

[app:healthcheck]
paste.app_factory = oslo_middleware:Healthcheck.app_factory
backends = disable_by_file
disable_by_file_path = {root}/healthcheck_disable

[filter:versionnegotiation]
paste.filter_factory = \
    glance.api.middleware.version_negotiation:VersionNegotiationFilter.factory

[filter:testidentity]
paste.filter_factory = glance_identity:filter_factory

[filter:sqlcount]
paste.filter_factory = glance_sqlcount:filter_factory

[filter:context]
paste.filter_factory = glance.api.middleware.context:ContextMiddleware.factory
"""

_CONF = """\
[DEFAULT]
enabled_backends = {backends}
enabled_import_methods = [glance-direct,web-download,copy-image]
worker_self_reference_url = {url}
base_image_colocation = {colocation}
log_file = {root}/glance-api.log

[database]
connection = sqlite:///{db_path}

[glance_store]
default_backend = {default}

[paste_deploy]
flavor =
config_file = {root}/etc/glance-api-paste.ini

[os_glance_staging_store]
filesystem_store_datadir = {root}/staging

[os_glance_tasks_store]
filesystem_store_datadir = {root}/tasks

[oslo_policy]
policy_file = {policy}
"""


def free_port():
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class RealGlance(object):
    """A Glance API server from a test environment.

    :param bin_dir: the ``bin`` folder of the environment with Glance and
        gunicorn.
    :param root: a folder for config, database, stores and logs.
    :param stores: file store ids; the first is the default.
    """

    def __init__(self, bin_dir, root, stores=WRITABLE_STORES,
                 colocation=True, count_sql=False, parallel_stores=None,
                 source_dir=None):
        self.bin_dir = bin_dir
        self.count_sql = count_sql
        # [image_import_opts] max_parallel_stores, if set.
        self.parallel_stores = parallel_stores
        # A Glance source tree imported instead of the installed one.
        self.source_dir = source_dir
        self.root = os.path.abspath(root)
        self.stores = tuple(stores)
        self.colocation = colocation
        self.port = None
        self.url = None
        self.proc = None
        self._overridden = set()

    def _write_config(self):
        conf_dir = os.path.join(self.root, 'etc')
        os.makedirs(conf_dir, exist_ok=True)
        for store in self.stores + ('staging', 'tasks'):
            os.makedirs(os.path.join(self.root, store), exist_ok=True)
        text = _CONF.format(
            backends=', '.join('%s:file' % s for s in self.stores),
            default=self.stores[0], url=self.url, root=self.root,
            db_path=self.db_path,
            colocation=self.colocation, policy=self.policy_path)
        self.set_policy({})
        for store in self.stores:
            text += '\n[%s]\nfilesystem_store_datadir = %s\n' % (
                store, self.store_dir(store))
        if self.parallel_stores:
            text += '\n[image_import_opts]\nmax_parallel_stores = %d\n' % (
                self.parallel_stores)
        with open(os.path.join(conf_dir, 'glance-api.conf'), 'w') as f:
            f.write(text)
        # NOTE: Glance 28's WSGI application reads every file it knows of
        # from the config folder, the paste file included.
        with open(os.path.join(conf_dir, 'glance-api-paste.ini'), 'w') as f:
            f.write(_PASTE.format(
                root=self.root,
                sqlcount='sqlcount ' if self.count_sql else ''))
        for module in (glance_identity, glance_sqlcount):
            shutil.copy(module.__file__, os.path.join(
                self.root, os.path.basename(module.__file__)))
        return conf_dir

    @property
    def sql_log_path(self):
        """Where ``count_sql`` logs the statements of each request."""
        return os.path.join(self.root, 'sql.jsonl')

    def store_dir(self, store):
        return os.path.join(self.root, store)

    @property
    def glance_log_path(self):
        """Glance's own log (``[DEFAULT] log_file``)."""
        return os.path.join(self.root, 'glance-api.log')

    def direct_copies(self, image_id):
        """The target stores of each direct copy of ``image_id``.

        Glance commit 11 logs each copy-image that it makes without
        staging (``[image_import_opts] max_parallel_stores`` above 1):
        "Copying image <id> directly to stores <a>,<b>, <n> at a time".

        :returns: ``[[store, ...], ...]`` in log order; ``[]`` when
            Glance logged none.
        """
        found = []
        try:
            with open(self.glance_log_path, errors='replace') as f:
                for line in f:
                    match = _DIRECT_COPY_RE.search(line)
                    if match and match.group('image') == image_id:
                        found.append(match.group('stores').split(','))
        except FileNotFoundError:
            pass
        return found

    @property
    def policy_path(self):
        return os.path.join(self.root, 'etc', 'policy.yaml')

    def set_policy(self, rules):
        """Make ``rules`` the policy file; Glance's defaults fill the rest.

        Glance reads the file again on its next policy check because its
        modification time changed; the time is moved forward explicitly,
        so two writes within the file system's clock tick still count.

        :param rules: ``{rule name: check string}``; ``{}`` restores the
            defaults.
        """
        rules = dict(rules)
        restored = self._overridden - set(rules)
        if restored:
            defaults = self._default_rules()
            # NOTE: a rule this Glance does not define is never checked.
            rules.update((name, defaults[name]) for name in restored
                         if name in defaults)
        self._overridden = set(rules) - restored
        path = self.policy_path
        os.makedirs(os.path.dirname(path), exist_ok=True)
        previous = os.stat(path).st_mtime if os.path.exists(path) else 0
        with open(path + '.new', 'w') as f:
            json.dump(rules, f, indent=1, sort_keys=True)
        stamp = max(time.time(), previous + 1)
        os.utime(path + '.new', (stamp, stamp))
        os.replace(path + '.new', path)

    def _probe(self, code, what):
        """Run ``code`` with the Python of the Glance under test."""
        proc = subprocess.run(
            [os.path.join(self.bin_dir, 'python'), '-c', code],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL)
        if proc.returncode:
            raise exceptions.PatchSeriesError(
                'cannot %s in %s: %s'
                % (what, self.bin_dir, proc.stderr.strip()[-500:]))
        return proc.stdout

    def wsgi_app(self):
        """The gunicorn application spec for the Glance under test."""
        found = self._probe(_HAS_WSGI_MODULE, 'import glance').strip()
        return WSGI_MODULE if found == 'True' else WSGI_FACTORY

    def _default_rules(self):
        return json.loads(self._probe(
            _DEFAULT_RULES, 'read the policy defaults of the Glance'))

    def _env(self, conf_dir):
        env = dict(os.environ)
        env['OS_GLANCE_CONFIG_DIR'] = conf_dir
        env['PYTHONPATH'] = self.root
        if self.source_dir:
            # NOTE: Ahead of the editable install's finder, which Python
            # asks only after the path.
            env['PYTHONPATH'] = os.pathsep.join((self.source_dir,
                                                 self.root))
        env[glance_sqlcount.LOG_ENV] = self.sql_log_path
        env.pop('PYTHONDONTWRITEBYTECODE', None)
        return env

    def start(self, timeout=60.0):
        """Create the database, start gunicorn, wait until it answers."""
        for command in ('glance-manage', 'gunicorn'):
            if not os.path.exists(os.path.join(self.bin_dir, command)):
                raise exceptions.PatchSeriesError(
                    'the Glance environment %s has no %s; it is one of '
                    'glance_patch EXTRA_PACKAGES, rebuild the environment '
                    'with verify --fresh' % (self.bin_dir, command))
        app = self.wsgi_app()
        self.port = free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        conf_dir = self._write_config()
        env = self._env(conf_dir)
        conf = os.path.join(conf_dir, 'glance-api.conf')
        LOG.info('real glance: creating its database')
        proc = subprocess.run(
            [os.path.join(self.bin_dir, 'glance-manage'), '--config-file',
             conf, 'db_sync'], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
        if proc.returncode:
            raise exceptions.PatchSeriesError(
                'glance-manage db_sync failed: %s' % proc.stdout[-2000:])
        log = open(os.path.join(self.root, 'gunicorn.log'), 'wb')
        LOG.info('real glance: starting gunicorn (%s) on %s', app, self.url)
        # NOTE: one request at a time. Glance's image updates read and then
        # write in one transaction, which sqlite refuses ("database is
        # locked") instead of waiting while another request writes. The
        # races our scenarios look for are on the client side, which stays
        # concurrent; Glance's own task threads (copies) still run beside
        # the request.
        self.proc = subprocess.Popen(
            [os.path.join(self.bin_dir, 'gunicorn'), '--bind',
             '127.0.0.1:%d' % self.port, '--workers', '1', '--threads', '1',
             '--timeout', '300', '--chdir', self.root, app],
            env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self._wait_healthy(timeout)
        return self

    def _wait_healthy(self, timeout):
        deadline = time.monotonic() + timeout
        last = 'no answer yet'
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                raise exceptions.PatchSeriesError(
                    'glance exited while starting; see %s:\n%s'
                    % (self.log_path, self.log_tail()))
            try:
                with urllib.request.urlopen(self.url + '/healthcheck',
                                            timeout=2) as resp:
                    if resp.status == 200:
                        return
                    last = 'HTTP %d' % resp.status
            except (urllib.error.URLError, OSError) as exc:
                last = str(exc)
            time.sleep(0.2)
        self.stop()
        raise exceptions.PatchSeriesError(
            'glance did not answer /healthcheck within %ds (last: %s); '
            'see %s' % (timeout, last, self.log_path))

    @property
    def db_path(self):
        """Glance's sqlite database file."""
        return os.path.join(self.root, 'glance.sqlite')

    @property
    def log_path(self):
        return os.path.join(self.root, 'gunicorn.log')

    def log_tail(self, lines=30):
        try:
            with open(self.log_path, errors='replace') as f:
                return ''.join(f.readlines()[-lines:])
        except OSError:
            return ''

    def cpu_seconds(self):
        """User and system CPU seconds of the running gunicorn so far.

        Summed over its process group (the master and its worker, with
        all of their threads), from ``/proc``; a process that exits
        meanwhile is left out.
        """
        if self.proc is None:
            raise exceptions.PatchSeriesError('glance is not running')
        ticks = 0
        for name in os.listdir('/proc'):
            if not name.isdigit():
                continue
            try:
                with open('/proc/%s/stat' % name) as f:
                    # The command name may hold spaces: fields after it.
                    fields = f.read().rsplit(')', 1)[1].split()
            except (OSError, IndexError):
                continue
            # Fields 3 onwards: state, ppid, pgrp, ..., utime (14), stime.
            if int(fields[2]) == self.proc.pid:
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf('SC_CLK_TCK')

    def stop(self, timeout=20.0):
        """Stop gunicorn by its process group; kill it if it lingers."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout)
        except ProcessLookupError:
            pass
        self.proc = None


@contextlib.contextmanager
def serving(bin_dir, work_dir, prefix='realglance-', count_sql=False,
            **options):
    """A started :class:`RealGlance` in a new folder under ``work_dir``.

    It is stopped, and its folder removed, when the block ends.

    :param count_sql: log the SQL statements of each request
        (:mod:`patchseries.glance_sqlcount`).
    :param options: more :class:`RealGlance` arguments.
    """
    root = tempfile.mkdtemp(prefix=prefix, dir=work_dir)
    server = RealGlance(bin_dir, root, count_sql=count_sql, **options)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
