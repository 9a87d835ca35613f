"""Drivers that run real Nova and Cinder client code against a Glance.

Each module here is a script executed with the Python of a project's
``verify`` test environment, where the patched (or unpatched) project is
installed. It imports nothing of ours, takes its orders as JSON in
``argv[1]`` and prints one JSON line of results, so the scenario runner
in our own environment can drive it and then ask Glance what happened.
"""

import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def run_client(python, project, orders, timeout=300):
    """Run the ``<project>_client.py`` driver with ``orders``.

    :returns: the driver's JSON answer (a dict).
    """
    script = os.path.join(HERE, '%s_client.py' % project)
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
