"""Drivers that run real Nova and Cinder client code against a Glance.

Each module here is a script executed with the Python of a project's
``verify`` test environment, where the patched (or unpatched) project is
installed. It imports nothing of ours, takes its orders as JSON in
``argv[1]`` and prints one JSON line of results, so the scenario runner
in our own environment can drive it and then ask Glance what happened.
"""

import contextlib
import json
import os
import selectors
import signal
import subprocess
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))

# The fork servers of the calling thread, while forkservers() holds.
_LOCAL = threading.local()


def _script(project):
    return os.path.join(HERE, '%s_client.py' % project)


def run_client(python, project, orders, timeout=300):
    """Run the ``<project>_client.py`` driver with ``orders``.

    Inside :func:`forkservers`, the driver runs in a fork of a process
    that imported the project once; otherwise in a new process.

    :returns: the driver's JSON answer (a dict).
    """
    servers = getattr(_LOCAL, 'servers', None)
    if servers is not None:
        key = (python, project, json.dumps(_preload_options(project, orders),
                                           sort_keys=True))
        server = servers.get(key)
        if server is None:
            server = servers[key] = ForkServer(python, project, key[2])
        try:
            returncode, stdout, stderr = server.run(orders, timeout)
        except DriverError as exc:
            servers.pop(key).stop()
            return {'error': str(exc)}
    else:
        script = _script(project)
        try:
            proc = subprocess.run([python, script, json.dumps(orders)],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return {'error': 'the %s driver did not finish within %ds'
                    % (project, timeout)}
        returncode, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    lines = [line for line in stdout.splitlines() if line.strip()]
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        return {'error': 'the %s driver failed (exit %d): %s'
                % (project, returncode, stderr[-3000:])}


def _preload_options(project, orders):
    """How the fork server must import ``project`` for ``orders``.

    Cinder's driver monkey-patches with eventlet before importing cinder
    when its uploads run in green threads; those orders get a server of
    their own that does the same.
    """
    if project == 'cinder':
        return {'monkey': orders.get('threads', 1) > 1}
    return {}


@contextlib.contextmanager
def forkservers():
    """Run this thread's drivers in fork servers until the block ends.

    A server imports its project once, when its first driver runs; every
    driver of the block then starts from that import. Use it only while
    the code on disk stays the same (one scenario pass).
    """
    previous = getattr(_LOCAL, 'servers', None)
    _LOCAL.servers = {}
    try:
        yield
    finally:
        servers, _LOCAL.servers = _LOCAL.servers, previous
        for server in servers.values():
            server.stop()


class ForkServer(object):
    """A ``forkserver.py`` of one project in one environment."""

    def __init__(self, python, project, options='{}', ready_timeout=600):
        self.project = project
        self._stderr = tempfile.TemporaryFile(mode='w+')
        self.proc = subprocess.Popen(
            [python, os.path.join(HERE, 'forkserver.py'), project, options],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, text=True, bufsize=1,
            start_new_session=True)
        self._ready = False
        self._ready_timeout = ready_timeout

    def _line(self, deadline_s, what):
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            ready = selector.select(deadline_s)
        line = self.proc.stdout.readline() if ready else ''
        if not line:
            self._stderr.seek(0)
            raise DriverError('the %s driver %s: %s' % (
                self.project, 'exited' if ready else
                'did not finish within %ds' % deadline_s
                if what == 'answer' else
                'fork server gave no answer in %ds' % deadline_s,
                self._stderr.read()[-3000:]))
        return line

    def _wait_ready(self):
        while not self._ready:
            line = self._line(self._ready_timeout, 'ready')
            try:
                self._ready = bool(json.loads(line).get('ready'))
            except (ValueError, AttributeError):
                continue  # something the import printed

    def run(self, orders, timeout):
        """``(exit status, stdout, stderr)`` of one driver run."""
        self._wait_ready()
        try:
            self.proc.stdin.write(json.dumps(orders) + '\n')
            self.proc.stdin.flush()
        except OSError as exc:
            raise DriverError('the %s fork server is gone: %s'
                              % (self.project, exc))
        answer = json.loads(self._line(timeout, 'answer'))
        return answer['returncode'], answer['stdout'], answer['stderr']

    def stop(self):
        """Close its stdin, which ends it; kill its group if it lingers."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        self.proc.stdout.close()
        self._stderr.close()


class DriverError(Exception):
    """A serving driver died, timed out or answered nonsense."""


class ServingDriver(object):
    """A driver that answers measurement orders until it is stopped.

    Started with bench orders, it loads its project's code, makes one
    warm-up upload and says it is ready; from then on the code it runs
    is fixed, whatever happens to the tree on disk.

    :param prefix: an argv to run the driver under (valgrind).
    :param env: variables added to the driver's environment.
    """

    def __init__(self, python, project, orders, script=None, prefix=(),
                 env=None):
        self.project = project
        self._stderr = tempfile.TemporaryFile(mode='w+')
        self.proc = subprocess.Popen(
            list(prefix) + [python, script or _script(project),
                            json.dumps(orders)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, text=True, bufsize=1,
            env=dict(os.environ, **(env or {})))
        self.code = None

    def _read(self, timeout):
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            ready = selector.select(timeout)
        line = self.proc.stdout.readline() if ready else ''
        if not line:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._stderr.seek(0)
            raise DriverError(
                'the %s driver %s: %s' % (
                    self.project,
                    'exited' if ready else 'gave no answer in %ds' % timeout,
                    self._stderr.read()[-3000:]))
        return json.loads(line)

    def wait_ready(self, timeout=300):
        answer = self._read(timeout)
        if not answer.get('ready'):
            raise DriverError('the %s driver did not get ready: %s'
                              % (self.project, answer))
        self.code = answer['code']
        return self

    def measure(self, size, timeout=1800):
        self.proc.stdin.write(json.dumps({'size': size}) + '\n')
        self.proc.stdin.flush()
        return self._read(timeout)

    def stop(self):
        """Close its stdin, which ends it; kill it if it lingers."""
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self._stderr.close()
