"""bench: what the series cost on the hot path, measured side by side.

Four figures, each against a target (``patchseries bench``):

P1  the upload path: the real Nova image API ``update(... data)`` and
    Cinder's ``upload_volume()``, patched and unpatched, streaming
    generated images to the fake Glance. Throughput ratio and client
    peak RSS growth per image size; instructions per MiB and per upload,
    counted by callgrind.
P2  Glance's decision: on the real patched Glance, the latency of
    one-byte uploads that name a base image against uploads that name a
    store, with few and with many images in the database.
P3  copies between stores: upstream's copy-image (the unpatched tree)
    against ours and our co-location into two more stores, and against
    the single-pass limit (read, md5, sha512 and write in one loop).
P4  ``verify`` wall time of every (project, release) pair and of every
    release together, with cold and with warm caches, and warm with the
    unpatched baselines reused.

Repeated runs alternate which side goes first, so a machine that drifts
does not favour one side. Nothing here is a test: the targets are
reported, never asserted.

One module per figure (``p1`` to ``p4``) measures it and turns its runs
into rows; ``report`` holds the rows and the table, ``plot`` the
picture, and ``command`` the ``patchseries bench`` command. This module
holds what they share: units, targets and the error they raise.
"""

from patchseries import exceptions

MiB = 1 << 20
GiB = 1 << 30
FIGURES = ('p1', 'p2', 'p3', 'p4')
CLIENT_PROJECTS = ('nova', 'cinder')
# What a figure needs prepared (its tree patched, its environment built).
NEEDS = {'p1': CLIENT_PROJECTS, 'p2': ('glance',), 'p3': ('glance',),
         'p4': ()}

# P1: the peak RSS growth a client may show while it uploads, in MiB.
RSS_TARGET_MIB = 16

TARGETS = {
    'throughput_ratio': 0.98,   # P1: patched / unpatched, at least
    'instructions_ratio': 1.01,  # P1: instructions per MiB, p/u, at most
    'rss_growth_mib': RSS_TARGET_MIB,  # P1: peak RSS growth
    'latency_ratio': 1.05,      # P2: base ref / store header p50, at most
    'extra_selects': 1,         # P2: more SELECTs a base ref costs
    'growth_ratio': 1.05,       # P2: p50 at many images / at few, at most
    'copy_vs_upstream': 2.0,    # P3: ours / upstream copy-image, at least
    'copy_vs_single_pass': 0.7,  # P3: ours / single-pass limit, at least
    'verify_warm_s': 600,       # P4: every release, warm, at most
}


class BenchError(exceptions.PatchSeriesError):
    """A figure could not be measured (not: a target was missed)."""


def parse_size(text):
    """``'256M'``, ``'1G'`` or a byte count -> bytes.

    >>> parse_size('256M'), parse_size('1G'), parse_size('4096')
    (268435456, 1073741824, 4096)
    """
    units = {'K': 1 << 10, 'M': MiB, 'G': GiB}
    text = text.strip().upper().rstrip('IB')
    try:
        if text and text[-1] in units:
            value = int(text[:-1]) * units[text[-1]]
        else:
            value = int(text)
    except ValueError:
        raise BenchError('%r is not a size; use bytes or a number with '
                         'K, M or G (binary units), like 256M' % text)
    if value <= 0:
        raise BenchError('a size must be positive, not %r' % text)
    return value


def format_size(size):
    """Bytes in the largest binary unit that divides them.

    >>> format_size(268435456), format_size(4 * GiB), format_size(10)
    ('256 MiB', '4 GiB', '10 B')
    """
    for unit, name in ((GiB, 'GiB'), (MiB, 'MiB')):
        if size >= unit and size % unit == 0:
            return '%d %s' % (size // unit, name)
    return '%d B' % size


def ratio(a, b):
    """``a / b``, or None where ``b`` is too small to have been measured.

    >>> ratio(3.0, 2.0), ratio(1.0, 0.0)
    (1.5, None)
    """
    return a / b if b > 0 else None
