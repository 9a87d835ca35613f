"""Run driver orders in forks of one process that imported the project.

Run with the Python of a project's test environment:
``forkserver.py <project> <preload JSON>``. It imports
``<project>_client`` and calls its ``preload(**options)``, which imports
what the driver's ``main`` imports first, then says ``{"ready": true}``.
From then on, each line on stdin is one set of orders: the server forks,
the child runs ``main(orders)`` exactly as ``<project>_client.py`` run as
a script would (fresh configuration and globals: nothing but imports
happened before the fork), and the server answers one JSON line with the
child's stdout, stderr and exit status.

Importing Nova or Cinder costs seconds of CPU; a scenario pass runs a
dozen drivers of each, all on the same code.
"""

import json
import os
import sys
import tempfile
import threading
import traceback


def _child(module, orders, out_path, err_path):
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    for fd, path in ((1, out_path), (2, err_path)):
        target = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.dup2(target, fd)
        os.close(target)
    code = 0
    try:
        sys.stdout = os.fdopen(1, 'w', closefd=False)
        sys.stderr = os.fdopen(2, 'w', closefd=False)
        answer = module.main(orders)
        if answer is not None:
            print(json.dumps(answer))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _quiesce():
    """Stop what the import started that a fork cannot take along.

    Nova's import monkey-patches with eventlet and may start eventlet's
    thread pool (tpool): its native worker threads would not exist in a
    child, which would then wait forever for them. Stopped here, each
    child starts its own pool on first use, as a new process does.
    """
    tpool = sys.modules.get('eventlet.tpool')
    if tpool is not None:
        tpool.killall()


def _read(path):
    with open(path, errors='replace') as f:
        return f.read()


def serve(project, options):
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    # Our tests add toy drivers from a folder of their own.
    extra = os.environ.get('PATCHSERIES_DRIVER_PATH')
    if extra:
        sys.path.insert(0, extra)
    module = __import__('%s_client' % project)
    preload = getattr(module, 'preload', None)
    if preload is not None:
        preload(**options)
    _quiesce()
    answers = sys.stdout
    print(json.dumps({'ready': True,
                      'threads': threading.active_count()}),
          file=answers, flush=True)
    folder = tempfile.mkdtemp(prefix='patchseries-forkserver-')
    out_path = os.path.join(folder, 'stdout')
    err_path = os.path.join(folder, 'stderr')
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            orders = json.loads(line)
            for path in (out_path, err_path):
                open(path, 'w').close()
            pid = os.fork()
            if pid == 0:
                _child(module, orders, out_path, err_path)
            _pid, status = os.waitpid(pid, 0)
            print(json.dumps({'returncode': os.waitstatus_to_exitcode(status),
                              'stdout': _read(out_path),
                              'stderr': _read(err_path)}),
                  file=answers, flush=True)
    finally:
        for path in (out_path, err_path):
            if os.path.exists(path):
                os.unlink(path)
        os.rmdir(folder)


if __name__ == '__main__':
    serve(sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})
