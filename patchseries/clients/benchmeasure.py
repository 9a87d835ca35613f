"""What a client driver measures around one upload (``patchseries bench``).

The drivers import this module by name: Python puts a script's own
folder first on ``sys.path``, and this file sits beside them. Like the
drivers, it uses nothing but the standard library.
"""

import gc
import hashlib
import json
import marshal
import os
import resource
import sys
import time
import types

_PATTERN = bytes(range(256)) * 4096  # 1 MiB

# Set by ``bench`` when it runs the driver under callgrind: the helper
# library that switches callgrind's counting on and off, and the file
# callgrind dumps its counts to (see patchseries.bench.callgrind).
CALLGRIND_LIB = 'PATCHSERIES_CALLGRIND_LIB'
CALLGRIND_OUT = 'PATCHSERIES_CALLGRIND_OUT'


class GeneratedImage(object):
    """A read-only stream of ``size`` bytes, made as they are read.

    It holds one MiB whatever its size, so a client that buffers the
    image shows up as peak RSS, not as a file on disk. Like a file, a
    ``read()`` without a size returns everything that is left.
    """

    def __init__(self, size):
        self.size = size
        self.left = size

    def read(self, n=-1):
        if n is None or n < 0 or n > self.left:
            n = self.left
        if n <= 0:
            return b''
        self.left -= n
        if n <= len(_PATTERN):
            return _PATTERN[:n]
        whole, part = divmod(n, len(_PATTERN))
        return _PATTERN * whole + _PATTERN[:part]

    def seekable(self):
        return False


def _status_kib(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise LookupError('%s is not in /proc/self/status' % field)


def reset_peak_rss():
    """Reset the kernel's peak RSS (VmHWM) to the current RSS.

    :returns: False where the kernel does not allow it (before 4.0).
    """
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    except OSError:
        return False
    return True


def _cpu_seconds():
    # getrusage counts in microseconds where os.times() counts in ticks.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class InstructionCounter(object):
    """Callgrind's count of the instructions one upload runs.

    Callgrind starts with counting off; each upload turns it on, then
    off, and dumps what it counted to a file of its own, the way
    ``CALLGRIND_START_INSTRUMENTATION`` and ``CALLGRIND_DUMP_STATS_AT``
    do in C (the helper library is those macros). Outside valgrind the
    counter does nothing and counts nothing.
    """

    def __init__(self, environ=os.environ):
        self.lib = None
        self.dumps = 0
        path = environ.get(CALLGRIND_LIB)
        if not path:
            return
        import ctypes
        lib = ctypes.CDLL(path)
        lib.cg_stop.argtypes = [ctypes.c_char_p]
        if lib.cg_running_on_valgrind():
            self.lib = lib
            self.out = environ[CALLGRIND_OUT]

    def start(self):
        if self.lib is not None:
            self.lib.cg_start()

    def stop(self):
        """Stop counting; the instructions since :meth:`start`, or None."""
        if self.lib is None:
            return None
        self.lib.cg_stop(b'upload')
        self.dumps += 1
        return read_totals('%s.%d' % (self.out, self.dumps))


def read_totals(path):
    """The instruction count of one callgrind dump (its ``totals:``)."""
    with open(path) as f:
        for line in f:
            if line.startswith('totals:'):
                return int(line.split()[1])
    raise LookupError('%s has no totals line' % path)


_COUNTER = []


def _counter():
    if not _COUNTER:
        _COUNTER.append(InstructionCounter())
    return _COUNTER[0]


def measure(upload, size):
    """Run ``upload()`` and say what it cost.

    :returns: a dict: ``bytes``, wall ``seconds``, ``cpu_seconds`` of
        the whole process, and ``rss_before_kib`` / ``rss_peak_kib``
        (``peak_reset``: whether the peak was reset before the upload;
        if not, the peak may come from earlier work); under callgrind
        also ``instructions``, those ``upload()`` ran.
    """
    # Earlier uploads leave dirty pages behind (on both sides of the
    # wire); flushing them, untimed, keeps one run from paying for the
    # one before.
    os.sync()
    # The same for the cyclic garbage collector: a collection runs when
    # enough objects have been allocated since the last one, and lands on
    # whichever upload crosses that line, with the garbage of the uploads
    # before it. Under callgrind that alone moved P1's Cinder slope by
    # 0.6% (one collection, 350k instructions, in one of two sizes).
    # Collected here, untimed and uncounted, every upload starts from an
    # empty young generation and runs only the collections its own
    # allocations call for.
    gc.collect()
    peak_reset = reset_peak_rss()
    before = _status_kib('VmRSS')
    cpu = _cpu_seconds()
    counter = _counter()
    start = time.perf_counter()
    counter.start()
    upload()
    instructions = counter.stop()
    seconds = time.perf_counter() - start
    result = {
        'bytes': size,
        'seconds': seconds,
        'cpu_seconds': _cpu_seconds() - cpu,
        'rss_before_kib': before,
        'rss_peak_kib': _status_kib('VmHWM'),
        'peak_reset': peak_reset,
    }
    if instructions is not None:
        result['instructions'] = instructions
    return result


def fingerprint(*modules):
    """A digest of the code these modules run, as loaded.

    It tells the unpatched driver from the patched one whatever the tree
    on disk says by now.
    """
    digest = hashlib.sha256()
    for module in modules:
        for name, value in sorted(vars(module).items()):
            functions = [value]
            if isinstance(value, type):
                functions = [v for _, v in sorted(vars(value).items())]
            for function in functions:
                if isinstance(function, (staticmethod, classmethod)):
                    function = function.__func__
                if isinstance(function, types.FunctionType):
                    digest.update(name.encode())
                    digest.update(marshal.dumps(function.__code__))
    return digest.hexdigest()[:16]


def _answer(data):
    sys.stdout.write(json.dumps(data) + '\n')
    sys.stdout.flush()


def serve(upload, warmup, code):
    """Measure one upload per order read from stdin, until stdin closes.

    :param upload: ``upload(size) -> dict``: one measured upload.
    :param warmup: the size of an upload made first and not reported,
        so that what the first call loads once (schemas, connections,
        the allocator's arenas) is not counted as growth of a size.
    :param code: the :func:`fingerprint` of the code measured.

    Answers one JSON line each: first ``{'ready': True, 'code': ...}``,
    then the result of each ``{'size': N}`` order, or ``{'error': ...}``.
    """
    upload(warmup)
    _answer({'ready': True, 'code': code})
    for line in sys.stdin:
        order = json.loads(line)
        try:
            _answer(upload(order['size']))
        except Exception as exc:
            _answer({'error': '%s: %s' % (type(exc).__name__, exc)})
