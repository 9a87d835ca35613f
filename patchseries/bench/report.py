"""The results of ``bench``: rows with their targets, and the table.

A :class:`Row` is one measure of one figure, one value per repeated
run; the table shows min, median and max, and whether the median met
the target.
"""

import os
import platform
import statistics


def spread(values):
    """min, median and max of ``values`` (None where there are none).

    >>> spread([3, 1, 2])
    {'n': 3, 'min': 1, 'median': 2, 'max': 3}
    """
    values = [v for v in values if v is not None]
    if not values:
        return {'n': 0, 'min': None, 'median': None, 'max': None}
    return {'n': len(values), 'min': min(values),
            'median': statistics.median(values), 'max': max(values)}


def percentile(values, fraction):
    """The nearest-rank percentile.

    >>> percentile(list(range(1, 101)), 0.95), percentile([5.0], 0.5)
    (95, 5.0)
    """
    ordered = sorted(values)
    rank = max(1, int(-(-fraction * len(ordered) // 1)))
    return ordered[rank - 1]


def machine():
    """What the numbers were measured on."""
    info = {'python': platform.python_version(),
            'kernel': platform.release(), 'cores': os.cpu_count()}
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    info['cpu'] = line.split(':', 1)[1].strip()
                    break
        with open('/proc/meminfo') as f:
            kib = int(f.readline().split()[1])
            info['memory_gib'] = round(kib / (1 << 20), 1)
    except (OSError, ValueError, IndexError):
        pass
    return info


def load():
    """The load averages over 1, 5 and 15 minutes (None where unknown)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


class Row(object):
    """One line of the results table: a ratio or a value, and its target.

    :param values: one value per repeated run.
    :param at_least / at_most: the target, if the row has one; the
        median is what is judged, min and max show the spread.
    """

    def __init__(self, figure, what, values, unit='', at_least=None,
                 at_most=None, note=''):
        self.figure = figure
        self.what = what
        self.values = list(values)
        self.unit = unit
        self.at_least = at_least
        self.at_most = at_most
        self.note = note

    @property
    def spread(self):
        return spread(self.values)

    @property
    def met(self):
        median = self.spread['median']
        if median is None:
            return None
        if self.at_least is not None:
            return median >= self.at_least
        if self.at_most is not None:
            return median <= self.at_most
        return None

    @property
    def target(self):
        if self.at_least is not None:
            return '>= %s' % number(self.at_least)
        if self.at_most is not None:
            return '<= %s' % number(self.at_most)
        return ''

    def as_dict(self):
        return dict(self.spread, figure=self.figure, what=self.what,
                    unit=self.unit, target=self.target, met=self.met,
                    values=self.values, note=self.note)


def number(value):
    if value is None:
        return '-'
    if abs(value) >= 100:
        return '%.0f' % value
    if abs(value) >= 10:
        return '%.1f' % value
    return '%.3f' % value if abs(value) < 2 else '%.2f' % value


def format_table(rows):
    """The table ``bench`` prints (reStructuredText, for the README)."""
    header = ('figure', 'measure', 'n', 'min', 'median', 'max', 'target',
              'met')
    lines = [header]
    for row in rows:
        s = row.spread
        met = {True: 'yes', False: 'NO', None: ''}[row.met]
        what = row.what + (' (%s)' % row.unit if row.unit else '')
        lines.append((row.figure, what, str(s['n']), number(s['min']),
                      number(s['median']), number(s['max']), row.target,
                      met))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rule = '  '.join('=' * w for w in widths)
    out = [rule]
    for index, line in enumerate(lines):
        out.append('  '.join(cell.ljust(w)
                             for cell, w in zip(line, widths)).rstrip())
        if index == 0:
            out.append(rule)
    out.append(rule)
    return '\n'.join(out)


def format_notes(rows):
    """What the table leaves out: each row's note, one line per row.

    >>> print(format_notes([Row('P2', 'statements', [1], note='SELECT 1'),
    ...                     Row('P2', 'ms', [2])]))
    Notes:
    <BLANKLINE>
    - P2 statements: SELECT 1
    """
    lines = ['- %s %s: %s' % (row.figure, row.what, row.note)
             for row in rows if row.note]
    return '\n'.join(['Notes:', ''] + lines) if lines else ''


def describe_machine(info):
    """One line about the machine, for the table's heading.

    >>> describe_machine({'cpu': 'X', 'cores': 2, 'memory_gib': 23.4,
    ...                      'python': '3.11.7', 'kernel': '6.1'})
    'X, 2 cores, 23.4 GiB, Linux 6.1, Python 3.11.7'
    """
    return '%s, %s cores, %s GiB, Linux %s, Python %s' % (
        info.get('cpu', 'unknown CPU'), info.get('cores', '?'),
        info.get('memory_gib', '?'), info.get('kernel', '?'),
        info.get('python', '?'))
