"""Instruction counts with callgrind: the part of P1 that does not wobble.

Wall-clock throughput on a shared two-core machine swings by 20% from
one run to the next; the number of instructions an upload runs does
not. Callgrind counts them (there are no hardware counters here). The
driver process runs under ``valgrind --tool=callgrind
--instr-atstart=no``, so its start-up (imports, the warm-up upload) is
not counted, and :class:`benchmeasure.InstructionCounter` switches
counting on around each measured upload through a small C library
built here from callgrind's own client-request macros, then reads the
dump callgrind writes for it.
"""

import hashlib
import os
import shutil
import subprocess

from patchseries import bench
from patchseries.clients import benchmeasure
from patchseries import venv as venv_mod

# The client requests of <valgrind/callgrind.h>, callable from ctypes.
SOURCE = '''\
#include <valgrind/callgrind.h>

int cg_running_on_valgrind(void) { return RUNNING_ON_VALGRIND; }

void cg_start(void)
{
    CALLGRIND_ZERO_STATS;
    CALLGRIND_START_INSTRUMENTATION;
}

void cg_stop(const char *name)
{
    CALLGRIND_STOP_INSTRUMENTATION;
    CALLGRIND_DUMP_STATS_AT(name);
}
'''
HEADER = '/usr/include/valgrind/callgrind.h'
# Debian's valgrind package ships the header with the tool.
PACKAGE = 'valgrind'


def missing():
    """What is missing to count instructions here, or None."""
    for name in ('valgrind', 'cc'):
        if not shutil.which(name):
            return 'the %s command' % name
    if not os.path.exists(HEADER):
        return HEADER
    return None


def helper_library(cache_dir, install_system_deps=False):
    """Build (once per source) the library the drivers switch counting with.

    :param install_system_deps: install valgrind with apt-get if it is
        missing (as ``verify --install-system-deps`` does).
    :returns: its path.
    """
    what = missing()
    if what and install_system_deps:
        venv_mod.install_system_packages([PACKAGE])
        what = missing()
    if what:
        raise bench.BenchError(
            'P1 instruction counts need %s (Debian package %s; bench '
            '--install-system-deps installs it)' % (what, PACKAGE))
    digest = hashlib.sha256(SOURCE.encode()).hexdigest()[:12]
    folder = os.path.join(cache_dir, 'callgrind')
    path = os.path.join(folder, 'libcgctl-%s.so' % digest)
    if not os.path.exists(path):
        os.makedirs(folder, exist_ok=True)
        source = os.path.join(folder, 'cgctl-%s.c' % digest)
        with open(source, 'w') as f:
            f.write(SOURCE)
        proc = subprocess.run(['cc', '-O2', '-shared', '-fPIC', '-o',
                               path + '.tmp', source],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
        if proc.returncode:
            raise bench.BenchError('P1: building the callgrind helper '
                                   'failed: %s' % proc.stdout[-2000:])
        os.rename(path + '.tmp', path)
    return path


def driver_command(out_file):
    """The argv prefix that runs a driver under callgrind, counting off."""
    return ['valgrind', '--quiet', '--tool=callgrind', '--instr-atstart=no',
            '--callgrind-out-file=%s' % out_file]


def driver_env(library, out_file):
    """What a driver under callgrind needs in its environment.

    PYTHONHASHSEED is fixed so that two runs of the same code hash, and
    so count, alike.
    """
    return {benchmeasure.CALLGRIND_LIB: library,
            benchmeasure.CALLGRIND_OUT: out_file,
            'PYTHONHASHSEED': '0'}


def per_byte(small, large):
    """Split two uploads' counts into per-byte and per-upload parts.

    :param small: ``(bytes, instructions)`` of the smaller upload.
    :param large: the same of the larger one.
    :returns: ``(instructions per byte, instructions per upload)``.

    >>> per_byte((1000, 3500), (3000, 9500))
    (3.0, 500.0)
    """
    slope = float(large[1] - small[1]) / (large[0] - small[0])
    return slope, small[1] - slope * small[0]
