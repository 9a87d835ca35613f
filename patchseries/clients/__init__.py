"""Drivers that run real Nova and Cinder client code against a Glance.

Each module here is a script executed with the Python of a project's
``verify`` test environment, where the patched (or unpatched) project is
installed. It imports nothing of ours, takes its orders as JSON in
``argv[1]`` and prints one JSON line of results, so the scenario runner
in our own environment can drive it and then ask Glance what happened.
"""

import json
import os
import selectors
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def _script(project):
    return os.path.join(HERE, '%s_client.py' % project)


def run_client(python, project, orders, timeout=300):
    """Run the ``<project>_client.py`` driver with ``orders``.

    :returns: the driver's JSON answer (a dict).
    """
    script = _script(project)
    try:
        proc = subprocess.run([python, script, json.dumps(orders)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {'error': 'the %s driver did not finish within %ds'
                % (project, timeout)}
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        return {'error': 'the %s driver failed (exit %d): %s'
                % (project, proc.returncode, proc.stderr[-3000:])}


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
