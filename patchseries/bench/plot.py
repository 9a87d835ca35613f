"""The one picture of ``bench``: P1 throughput and peak RSS by image size.

matplotlib is only needed here, and only the ``bench`` tox environment
installs it.
"""

import statistics

from patchseries import bench

_SERIES = (('nova', True, 'tab:blue', '-'), ('nova', False, 'tab:blue', ':'),
           ('cinder', True, 'tab:orange', '-'),
           ('cinder', False, 'tab:orange', ':'))


def _medians(runs, project, patched, value):
    by_size = {}
    for run in runs:
        if run['project'] == project and run['patched'] == patched:
            by_size.setdefault(run['bytes'], []).append(value(run))
    sizes = sorted(by_size)
    return ([s / bench.MiB for s in sizes],
            [statistics.median(by_size[s]) for s in sizes],
            [min(by_size[s]) for s in sizes], [max(by_size[s]) for s in sizes])


def plot(runs, path, title):
    """Draw the P1 ``runs`` (:func:`patchseries.bench.p1.run_p1`) to a PNG."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot

    figure, (speed, memory) = pyplot.subplots(1, 2, figsize=(11, 4.5))
    values = (
        (speed, lambda r: r['bytes'] / r['seconds'] / bench.MiB,
         'throughput (MiB/s)'),
        (memory, lambda r: (r['rss_peak_kib'] - r['rss_before_kib']) / 1024.0,
         'client peak RSS growth (MiB)'))
    for axes, value, label in values:
        for project, patched, colour, style in _SERIES:
            x, median, low, high = _medians(runs, project, patched, value)
            if not x:
                continue
            axes.errorbar(
                x, median, yerr=[[m - lo for m, lo in zip(median, low)],
                                 [hi - m for m, hi in zip(median, high)]],
                color=colour, linestyle=style, marker='o', capsize=3,
                label='%s %s' % (project,
                                 'patched' if patched else 'unpatched'))
        axes.set_xscale('log', base=2)
        sizes = sorted(set(r['bytes'] for r in runs))
        axes.set_xticks([size / bench.MiB for size in sizes])
        axes.set_xticklabels(['%d' % (size // bench.MiB) for size in sizes])
        axes.minorticks_off()
        axes.set_xlabel('image size (MiB)')
        axes.set_ylabel(label)
        axes.set_ylim(bottom=0)
        axes.grid(True, alpha=0.3)
    memory.axhline(bench.RSS_TARGET_MIB, color='grey', linewidth=1,
                   linestyle='--')
    memory.annotate('target: at most %d MiB' % bench.RSS_TARGET_MIB,
                    (0.02, 0.93), xycoords='axes fraction', color='grey')
    memory.set_ylim(top=max(memory.get_ylim()[1], bench.RSS_TARGET_MIB * 1.1))
    speed.legend(loc='lower left', fontsize='small')
    figure.suptitle('P1 upload path, median and min-max of the runs\n%s'
                    % title, fontsize='small')
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
