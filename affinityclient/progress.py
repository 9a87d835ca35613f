"""Progress of a repair on stderr.

A one-line bar redrawn in place on a terminal; one plain line per image
otherwise (a log file or a pipe gets no carriage returns).
"""

import sys
import threading

WIDTH = 30
GiB = 1024 ** 3


class Progress(object):
    """:param total: images to do; :param total_bytes: their size."""

    def __init__(self, total, total_bytes, stream=None):
        self.stream = stream or sys.stderr
        self.total = total
        self.total_bytes = total_bytes
        self.done = 0
        self.done_bytes = 0
        self.counts = {}
        self.tty = bool(getattr(self.stream, 'isatty', lambda: False)())
        self._lock = threading.Lock()

    def step(self, outcome):
        """Count one finished :class:`~affinityclient.repair.Outcome`."""
        with self._lock:
            self.done += 1
            self.done_bytes += outcome.size
            self.counts[outcome.result] = self.counts.get(
                outcome.result, 0) + 1
            if self.tty:
                self.stream.write('\r' + self._bar())
            else:
                self.stream.write('repair: %d/%d %s %s %s\n' % (
                    self.done, self.total, outcome.image, outcome.result,
                    ','.join(outcome.stores) or '-'))
            self.stream.flush()

    def _bar(self):
        filled = WIDTH * self.done // max(self.total, 1)
        counts = ', '.join('%s %d' % item
                           for item in sorted(self.counts.items()))
        return '[%s%s] %d/%d images, %.2f/%.2f GiB (%s)' % (
            '#' * filled, '.' * (WIDTH - filled), self.done, self.total,
            self.done_bytes / GiB, self.total_bytes / GiB, counts)

    def close(self):
        if self.tty and self.done:
            self.stream.write('\n')
            self.stream.flush()
