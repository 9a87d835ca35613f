"""The ``patchseries bench`` command: prepare, measure, write results.
"""

import datetime
import json
import logging
import os
import time

from patchseries import bench
from patchseries.bench import p1
from patchseries.bench import p2
from patchseries.bench import p3
from patchseries.bench import p4
from patchseries.bench import plot
from patchseries.bench import report
from patchseries import target as target_mod
from patchseries import verify as verify_mod

LOG = logging.getLogger(__name__)


def prepare(projects, cache_dir, install_system_deps):
    """The trees of ``projects`` patched and installed, as verify makes them.

    :returns: ``{project: table.Side}``.
    """
    sides = {}
    for project in projects:
        LOG.info('bench: preparing %s (tree, environment, series)', project)
        report = verify_mod.verify_project(
            project, cache_dir, install_system_deps=install_system_deps,
            run_tests=False)
        sides[project] = _side(report)
    return sides


def _side(report):
    if report.error:
        raise bench.BenchError('%s: %s' % (report.project, report.error))
    if not report.side.patched:
        raise bench.BenchError('%s: its series is empty; there is nothing to '
                               'compare' % report.project)
    return report.side


def run(figures, cache_dir, work_dir, sizes, repeats, p2_counts=(10, 10000),
        p2_uploads=200, p3_sizes=(512 * bench.MiB, 2 * bench.GiB),
        install_system_deps=False,
        counted_sizes=(64 * bench.MiB, 256 * bench.MiB),
        p4_passes=p4.CACHES):
    """Measure ``figures``; returns the JSON-ready results."""
    started = time.monotonic()
    results = {'machine': report.machine(), 'figures': {}, 'rows': [],
               'started': datetime.datetime.now(datetime.timezone.utc)
               .isoformat(timespec='seconds'),
               'config': {'figures': list(figures), 'repeats': repeats,
                          'sizes': sizes, 'p2_counts': list(p2_counts),
                          'counted_sizes': list(counted_sizes),
                          'p2_uploads': p2_uploads,
                          'p3_sizes': list(p3_sizes),
                          'p4_passes': list(p4_passes)},
               'targets': bench.TARGETS,
               # Other work on the machine slows the clock, not the
               # instruction and statement counts.
               'load': {'start': report.load()}}
    sides = {}
    if 'p4' in figures:
        runs, reports = p4.run_p4(cache_dir, work_dir, target_mod.PROJECTS,
                                  install_system_deps, passes=p4_passes)
        results['figures']['p4'] = runs
        sides = dict((p, _side(r)) for p, r in reports.items())
    needed = sorted(set(p for f in figures for p in bench.NEEDS[f]) -
                    set(sides))
    sides.update(prepare(needed, cache_dir, install_system_deps))
    if 'p1' in figures:
        if sizes:
            results['figures']['p1'] = p1.run_p1(sides, sizes, repeats)
        if counted_sizes:
            results['figures']['p1_counted'] = p1.run_p1_counted(
                sides, counted_sizes, cache_dir, work_dir,
                install_system_deps)
    if 'p2' in figures:
        results['figures']['p2'] = p2.run_p2(sides['glance'], work_dir,
                                             p2_counts, p2_uploads, repeats)
    if 'p3' in figures:
        results['figures']['p3'] = p3.run_p3(sides['glance'], work_dir,
                                             p3_sizes, repeats)
    rows = figure_rows(results['figures'], results['config'])
    results['rows'] = [r.as_dict() for r in rows]
    results['table'] = report.format_table(rows)
    results['seconds'] = round(time.monotonic() - started, 1)
    results['load']['end'] = report.load()
    return results, rows


def figure_rows(figures, config):
    """The rows of the measured ``figures`` of a run, P1 first.

    :param figures: ``results['figures']`` of :func:`run`.
    :param config: ``results['config']`` of the same run.
    """
    rows = []
    if 'p1_counted' in figures:
        rows += p1.counted_rows(figures['p1_counted'])
    if 'p1' in figures:
        # A merged run keeps no sizes: those of its runs are the same.
        rows += p1.p1_rows(figures['p1'], config.get('sizes') or sorted(
            set(run['bytes'] for run in figures['p1'])))
    if 'p4' in figures:
        rows += p4.p4_rows(figures['p4'])
    if 'p2' in figures:
        rows += p2.p2_rows(figures['p2'])
    if 'p3' in figures:
        rows += p3.p3_rows(figures['p3'])
    rows.sort(key=lambda r: r.figure)
    return rows


def merge(parts):
    """The results of several runs as one, each figure from its own run.

    The rows are made again from each run's raw numbers, with that run's
    settings; no number is copied from a table.

    :param parts: ``[(name, results)]``, each as :func:`run` returns it
        (as read back from its ``bench.json``), or as this returns it:
        a merged run can take in another figure later.
    :returns: ``(results, rows)`` as :func:`run` returns them.
    """
    figures, rows, where = {}, [], {}
    machines = set()
    p4_runs, p4_where = [], {}
    for name, part in parts:
        machines.add(report.describe_machine(part['machine']))
        others = dict(part['figures'])
        # NOTE: P4's passes may come from separate runs (--p4-passes);
        # each pass from one run only.
        these = others.pop('p4', [])
        for cache in sorted(set(run['cache'] for run in these)):
            if cache in p4_where:
                raise bench.BenchError(
                    'cannot merge: %s and %s both measured the P4 pass %s'
                    % (p4_where[cache], name, cache))
            p4_where[cache] = name
        p4_runs += these
        for figure, runs in sorted(others.items()):
            if figure in figures:
                raise bench.BenchError(
                    'cannot merge: %s and %s both measured %s'
                    % (where[figure], name, figure))
            figures[figure] = runs
            where[figure] = name
        rows += figure_rows(others, part['config'])
    if p4_runs:
        figures['p4'] = p4_runs
        rows += p4.p4_rows(p4_runs)
    if len(machines) > 1:
        raise bench.BenchError('cannot merge runs of different machines: %s'
                               % '; '.join(sorted(machines)))
    rows.sort(key=lambda r: r.figure)
    parts = [part for _, part in parts]
    results = {
        'machine': parts[0]['machine'], 'figures': figures,
        'started': min(part['started'] for part in parts),
        'seconds': _span(parts),
        'targets': bench.TARGETS,
        'config': {'figures': [f for part in parts
                               for f in part['config']['figures']]},
        'parts': [dict((key, run.get(key)) for key in
                       ('started', 'seconds', 'config', 'load'))
                  for part in parts for run in part.get('parts', [part])],
        'rows': [r.as_dict() for r in rows],
        'table': report.format_table(rows)}
    return results, rows


def _span(parts):
    """Seconds from the first run's start to the last run's end.

    The runs may have overlapped, so their times do not add up.
    """
    starts = [datetime.datetime.fromisoformat(part['started'])
              for part in parts]
    ends = [start + datetime.timedelta(seconds=part['seconds'])
            for start, part in zip(starts, parts)]
    return round((max(ends) - min(starts)).total_seconds(), 1)


def heading(results):
    """The line above the table: when, and on what."""
    started = [part['started'] for part in results.get('parts', ())] or [
        results['started']]
    return 'bench %s, %s' % (' and '.join(started),
                             report.describe_machine(results['machine']))


def write(results, rows, output):
    """``bench.json``, ``bench.rst`` and (with P1) ``bench.png``.

    :returns: the text of ``bench.rst``.
    """
    os.makedirs(output, exist_ok=True)
    title = heading(results)
    text = '%s\n\n%s\n' % (title, results['table'])
    notes = report.format_notes(rows)
    if notes:
        text += '\n%s\n' % notes
    for name, data in (('bench.json', json.dumps(results, indent=2,
                                                 sort_keys=True) + '\n'),
                       ('bench.rst', text)):
        with open(os.path.join(output, name), 'w') as f:
            f.write(data)
    if 'p1' in results['figures']:
        plot.plot(results['figures']['p1'],
                  os.path.join(output, 'bench.png'), title)
    return text


def _counts(option, text):
    """``'10,10000'`` -> ``[10, 10000]``; anything else names ``option``.

    >>> _counts('--p2-images', '10, 10000')
    [10, 10000]
    """
    try:
        counts = [int(c) for c in text.split(',') if c.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise bench.BenchError(
            '%s takes positive whole numbers separated by commas, like '
            '10,10000; not %r' % (option, text))
    return counts


def _sizes(text):
    """``--sizes``: P1's timed sizes, or none (only the counted part).

    >>> _sizes('256M, 1G'), _sizes('none')
    ([268435456, 1073741824], [])
    """
    if text.strip().lower() == 'none':
        return []
    return [bench.parse_size(s) for s in text.split(',') if s.strip()]


def _counted_sizes(text):
    """``--p1-counted-sizes``: sizes, or none.

    >>> _counted_sizes('1M,4M'), _counted_sizes('none')
    ([1048576, 4194304], [])
    """
    if text.strip().lower() in ('', 'none'):
        return []
    sizes = sorted(set(bench.parse_size(s) for s in text.split(',')
                       if s.strip()))
    if len(sizes) < 2:
        raise bench.BenchError(
            '--p1-counted-sizes takes two sizes or more (or none), to tell '
            'per-byte from per-upload work; not %r' % text)
    return sizes


def _p4_passes(text):
    """``--p4-passes``: which passes of P4 to run, in their own order.

    >>> _p4_passes('warm-reused, cold')
    ('cold', 'warm, baseline reused')
    """
    names = dict((name.replace(', baseline reused', '-reused'), name)
                 for name in p4.CACHES)
    wanted = [w.strip() for w in text.split(',') if w.strip()]
    unknown = [w for w in wanted if w not in names]
    if unknown or not wanted:
        raise bench.BenchError('--p4-passes takes some of %s, separated by '
                               'commas; not %r' % (', '.join(names), text))
    return tuple(names[n] for n in names if n in wanted)


def _merge_cmd(args):
    parts = []
    for path in [p.strip() for p in args.merge.split(',') if p.strip()]:
        try:
            with open(path) as f:
                parts.append((path, json.load(f)))
        except (OSError, ValueError) as exc:
            raise bench.BenchError('--merge: cannot read %s: %s'
                                   % (path, exc))
    if len(parts) < 2:
        raise bench.BenchError('--merge takes two bench.json files or more, '
                               'separated by commas; not %r' % args.merge)
    results, rows = merge(parts)
    _report(results, rows, args.output)
    return 0


def _report(results, rows, output):
    print(write(results, rows, output))
    print('took %.0fs; results in %s' % (results['seconds'], output))
    missed = [r for r in rows if r.met is False]
    for row in missed:
        print('target missed: %s %s: median %s, target %s'
              % (row.figure, row.what, report.number(row.spread['median']),
                 row.target))


def bench_cmd(args):
    if args.merge:
        return _merge_cmd(args)
    figures = [f.strip().lower() for f in args.figures.split(',') if f]
    for figure in figures:
        if figure not in bench.FIGURES:
            raise bench.BenchError('unknown figure %r; known figures: %s'
                                   % (figure, ', '.join(bench.FIGURES)))
    if args.repeats < 1:
        raise bench.BenchError('--repeats must be at least 1, not %d'
                               % args.repeats)
    sizes = _sizes(args.sizes)
    counted = _counted_sizes(args.p1_counted_sizes)
    if 'p1' in figures and not sizes and not counted:
        raise bench.BenchError('P1 with neither --sizes nor '
                               '--p1-counted-sizes measures nothing')
    counts = _counts('--p2-images', args.p2_images)
    if args.p2_uploads < 1:
        raise bench.BenchError('--p2-uploads must be at least 1, not %d'
                               % args.p2_uploads)
    os.makedirs(args.output, exist_ok=True)
    work_dir = os.path.join(args.cache_dir, 'bench')
    os.makedirs(work_dir, exist_ok=True)
    results, rows = run(figures, args.cache_dir, work_dir, sizes,
                        args.repeats,
                        p2_counts=counts,
                        p2_uploads=args.p2_uploads,
                        p3_sizes=[bench.parse_size(s)
                                  for s in args.p3_sizes.split(',')
                                  if s.strip()],
                        install_system_deps=args.install_system_deps,
                        counted_sizes=counted,
                        p4_passes=_p4_passes(args.p4_passes))
    _report(results, rows, args.output)
    return 0


def add_parser(subparsers, common):
    parser = subparsers.add_parser(
        'bench', parents=[common],
        help='measure what the series cost, patched against unpatched')
    parser.add_argument('--figures', default=','.join(bench.FIGURES),
                        help='which figures to measure (default: %(default)s)')
    parser.add_argument('--repeats', type=int, default=3,
                        help='runs of each measurement (default: '
                        '%(default)s)')
    parser.add_argument('--sizes', default='256M,1G,4G',
                        help='P1 image sizes, timed; "none" leaves '
                        'only the instruction count, which can then run '
                        'on its own (default: %(default)s)')
    parser.add_argument('--p1-counted-sizes', default='64M,256M',
                        help='P1 sizes uploaded under callgrind to count '
                        'instructions, two or more; "none" skips the '
                        'count (default: %(default)s)')
    parser.add_argument('--p2-images', default='10,10000',
                        help='P2 image counts in the database (default: '
                        '%(default)s)')
    parser.add_argument('--p2-uploads', type=int, default=200,
                        help='P2 uploads of each kind per run (default: '
                        '%(default)s)')
    parser.add_argument('--p3-sizes', default='512M,2G',
                        help='P3 image sizes (default: %(default)s)')
    parser.add_argument('--p4-passes', default='cold,warm,warm-reused',
                        help='P4 passes to run: cold (empty caches), warm '
                        '(baselines run again), warm-reused (baselines '
                        'reused); default: %(default)s')
    parser.add_argument('--output', default='bench-results',
                        help='folder for bench.json, bench.rst and '
                        'bench.png (default: %(default)s)')
    parser.add_argument('--merge', metavar='FILES',
                        help='measure nothing: combine the bench.json of '
                        'earlier runs that measured different figures '
                        '(paths separated by commas) into --output, each '
                        "figure's rows made again from its raw numbers")
    parser.add_argument(
        '--install-system-deps', action='store_true',
        help='as for verify: install missing Debian packages')
    parser.set_defaults(func=bench_cmd)
    return parser
