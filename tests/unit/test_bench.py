"""bench: its instruments, its arithmetic and its table.

The figures themselves need the upstream environments ``verify`` builds;
``.ci/run`` runs a small ``bench`` end to end. Nothing here times
anything.
"""

import gc
import json
import os
import sqlite3
import sys
import types
from unittest import mock
import weakref

import ddt

from patchseries import bench
from patchseries.bench import callgrind
from patchseries.bench import command
from patchseries.bench import p1
from patchseries.bench import p2
from patchseries.bench import p3
from patchseries.bench import p4
from patchseries.bench import plot
from patchseries.bench import report
from patchseries import clients
from patchseries.clients import benchmeasure
from patchseries.clients import cinder_client
from patchseries import main
from patchseries import testrun
from tests import base

MiB = bench.MiB
GiB = bench.GiB


@ddt.ddt
class TestSizes(base.TestCase):

    @ddt.data(('256M', 256 * MiB), ('1G', 1 << 30), ('4GiB', 4 << 30),
              ('512k', 512 << 10), ('1000', 1000))
    @ddt.unpack
    def test_parse(self, text, size):
        self.assertEqual(size, bench.parse_size(text))

    @ddt.data('big', '1.5G', '-1M', '0', '')
    def test_bad_size_is_named(self, text):
        exc = self.assertRaises(bench.BenchError, bench.parse_size, text)
        self.assertIn('size', str(exc))


class TestGeneratedImage(base.TestCase):

    def test_reads_exactly_its_size_in_any_chunks(self):
        image = benchmeasure.GeneratedImage(5 * MiB + 3)
        sizes = []
        for want in (65536, 3 * MiB, 10, -1, 65536):
            sizes.append(len(image.read(want)))
        self.assertEqual([65536, 3 * MiB, 10, 2 * MiB + 3 - 65536 - 10, 0],
                         sizes)
        self.assertEqual(5 * MiB + 3, sum(sizes))

    def test_is_not_seekable(self):
        self.assertFalse(benchmeasure.GeneratedImage(1).seekable())


class TestMeasure(base.TestCase):
    """The RSS instrument sees buffering, and its absence."""

    def test_sees_a_buffered_image(self):
        held = []

        def buffering_upload():
            held.append(bytearray(64 * MiB))

        result = benchmeasure.measure(buffering_upload, 64 * MiB)
        self.assertTrue(result['peak_reset'])
        growth = result['rss_peak_kib'] - result['rss_before_kib']
        self.assertGreaterEqual(growth, 60 * 1024)
        self.assertEqual(64 * MiB, result['bytes'])

    def test_a_streamed_image_does_not_count_as_held(self):
        def streaming_upload():
            image = benchmeasure.GeneratedImage(256 * MiB)
            while image.read(65536):
                pass

        result = benchmeasure.measure(streaming_upload, 256 * MiB)
        growth = result['rss_peak_kib'] - result['rss_before_kib']
        self.assertLess(growth, 32 * 1024)
        self.assertGreaterEqual(result['cpu_seconds'], 0)


class TestMeasureStartsAlike(base.TestCase):
    """Every measured upload starts from the same state of the process."""

    def test_garbage_of_earlier_work_is_collected_before_the_upload(self):
        class Node(object):
            pass

        node = Node()
        node.me = node  # a cycle only the collector frees
        left = weakref.ref(node)
        del node
        seen = []
        benchmeasure.measure(lambda: seen.append(left() is None), 1)
        self.assertEqual([True], seen)

    def test_the_upload_starts_with_no_collection_pending(self):
        kept = [[] for _ in range(600)]  # young objects, not collected
        counts = []
        benchmeasure.measure(lambda: counts.append(gc.get_count()), 1)
        self.assertEqual((0, 0), counts[0][1:])
        self.assertLess(counts[0][0], 100)
        del kept


class TestCinderDriverHub(base.TestCase):
    """The Cinder driver starts eventlet's hub before its first upload."""

    def test_hub_starts_before_the_warm_up(self):
        calls = mock.Mock()
        tpool = calls.tpool
        measure = calls.benchmeasure
        measure.serve.side_effect = lambda upload, warmup, code: calls.warmup
        modules = {'eventlet': types.SimpleNamespace(tpool=tpool),
                   'eventlet.tpool': tpool, 'benchmeasure': measure,
                   'cinder': mock.Mock(), 'cinder.image': mock.Mock(),
                   'cinder.image.glance': mock.Mock(),
                   'cinder.image.image_utils': mock.Mock()}
        with mock.patch.dict(sys.modules, modules):
            cinder_client.bench(mock.Mock(), mock.Mock(), mock.Mock(),
                                mock.Mock(), self.tmp, {'warmup': 1})
        names = [c[0] for c in calls.mock_calls]
        self.assertIn('tpool.execute', names)
        self.assertIn('benchmeasure.serve', names)
        self.assertLess(names.index('tpool.execute'),
                        names.index('benchmeasure.serve'))


class TestRow(base.TestCase):

    def test_median_is_judged(self):
        self.assertTrue(report.Row('P1', 'x', [0.5, 1.0, 1.1],
                                   at_least=0.98).met)
        self.assertFalse(report.Row('P1', 'x', [0.5, 0.9, 1.1],
                                    at_least=0.98).met)
        self.assertTrue(report.Row('P2', 'x', [2.0, 1.0, 1.0],
                                   at_most=1.05).met)
        self.assertIsNone(report.Row('P2', 'x', [2.0]).met)
        self.assertIsNone(report.Row('P2', 'x', [], at_most=1).met)

    def test_table_marks_a_missed_target(self):
        rows = [report.Row('P1', 'nova ratio', [0.9, 0.95, 0.97],
                           at_least=0.98),
                report.Row('P4', 'verify', [300.0], unit='s', at_most=600)]
        text = report.format_table(rows)
        lines = text.splitlines()
        self.assertTrue(lines[0].startswith('======'))
        missed = [line for line in lines if 'nova ratio' in line][0]
        self.assertIn('0.950', missed)
        self.assertIn('>= 0.980', missed)
        self.assertTrue(missed.endswith('NO'), missed)
        self.assertIn('verify (s)', text)
        self.assertTrue([line for line in lines
                         if 'verify' in line][0].endswith('yes'))


def _p1_run(project, size, repeat, patched, seconds, cpu=1.0, growth=1024):
    return {'project': project, 'bytes': size, 'repeat': repeat,
            'patched': patched, 'seconds': seconds, 'cpu_seconds': cpu,
            'rss_before_kib': 100000, 'rss_peak_kib': 100000 + growth}


class TestFigureRows(base.TestCase):

    def test_counted_rows_split_per_byte_and_per_upload(self):
        def run(project, size, patched, instructions):
            return {'project': project, 'bytes': size, 'patched': patched,
                    'instructions': instructions}

        # 3 instructions a byte both ways; the patched upload costs 2000
        # more instructions whatever its size.
        runs = [run('nova', MiB, False, 3 * MiB + 50000),
                run('nova', 4 * MiB, False, 12 * MiB + 50000),
                run('nova', MiB, True, 3 * MiB + 52000),
                run('nova', 4 * MiB, True, 12 * MiB + 52000),
                # Cinder's patched side costs 2% more per byte.
                run('cinder', MiB, False, 100 * MiB),
                run('cinder', 2 * MiB, False, 200 * MiB),
                run('cinder', MiB, True, 102 * MiB),
                run('cinder', 2 * MiB, True, 204 * MiB)]
        rows = dict((r.what, r) for r in p1.counted_rows(runs))
        nova = rows['nova instructions per MiB patched/unpatched']
        self.assertEqual([1.0], nova.values)
        self.assertTrue(nova.met)
        self.assertAlmostEqual(
            2.0, rows['nova instructions per upload, patched - unpatched'
                      ].values[0])
        self.assertAlmostEqual(
            50.0, rows['nova instructions per upload, unpatched'].values[0])
        self.assertAlmostEqual(
            3 * MiB / 1e6,
            rows['nova instructions per MiB, patched'].values[0])
        cinder = rows['cinder instructions per MiB patched/unpatched']
        self.assertAlmostEqual(1.02, cinder.values[0])
        self.assertFalse(cinder.met)

    def test_counted_rows_need_two_sizes_of_each_side(self):
        runs = [{'project': 'nova', 'bytes': MiB, 'patched': p,
                 'instructions': 10} for p in (True, False)]
        self.assertEqual([], p1.counted_rows(runs))

    def test_counting_one_size_is_refused(self):
        exc = self.assertRaises(bench.BenchError, p1.run_p1_counted, {},
                                [MiB, MiB], self.tmp, self.tmp)
        self.assertIn('two sizes or more', str(exc))
        self.assertIn('1 MiB, 1 MiB', str(exc))

    def test_p1_pairs_runs_of_one_repeat(self):
        runs = [_p1_run('nova', MiB, 0, False, 2.0),
                _p1_run('nova', MiB, 0, True, 1.0, growth=20 * 1024),
                _p1_run('nova', MiB, 1, True, 2.0),
                _p1_run('nova', MiB, 1, False, 2.0),
                # Half a pair is left out.
                _p1_run('nova', MiB, 2, True, 9.0)]
        rows = dict((r.what, r) for r in p1.p1_rows(runs, [MiB]))
        ratio = rows['nova 1 MiB throughput patched/unpatched']
        self.assertEqual([2.0, 1.0], ratio.values)
        growth = rows['nova 1 MiB peak RSS growth, patched']
        self.assertEqual([20.0, 1.0], growth.values)
        self.assertTrue(growth.met)  # median 10.5 MiB
        self.assertNotIn('cinder 1 MiB throughput patched/unpatched', rows)
        # Unpatched run 1 against unpatched run 0: the noise floor.
        self.assertEqual([1.0],
                         rows['nova 1 MiB unpatched/unpatched (noise)'].values)

    def test_p1_survives_an_upload_too_short_to_cost_cpu(self):
        runs = [_p1_run('cinder', MiB, 0, False, 0.01, cpu=0.0),
                _p1_run('cinder', MiB, 0, True, 0.01, cpu=0.0)]
        rows = dict((r.what, r) for r in p1.p1_rows(runs, [MiB]))
        cpu = rows['cinder 1 MiB CPU patched/unpatched']
        self.assertEqual(0, cpu.spread['n'])
        self.assertIn('cinder 1 MiB CPU', report.format_table(rows.values()))
        self.assertEqual(
            [1.0], rows['cinder 1 MiB throughput patched/unpatched'].values)

    def test_p2_ratios_and_growth(self):
        def run(images, base_ref, store):
            return {'images': images, 'repeat': 0,
                    'seconds': {'base_ref': base_ref, 'store': store}}

        runs = [run(10, [0.011, 0.011, 0.011], [0.010, 0.010, 0.010]),
                run(10000, [0.024, 0.024, 0.024], [0.020, 0.020, 0.020])]
        rows = dict((r.what, r) for r in p2.p2_rows(runs))
        few = rows['p50 base ref/store header, 10 images']
        self.assertAlmostEqual(1.1, few.values[0])
        self.assertFalse(few.met)
        self.assertAlmostEqual(
            1.0, rows['p50 base ref - store header, 10 images'].values[0])
        growth = rows['p50 ratio at 10000 images / at 10']
        self.assertAlmostEqual(1.2 / 1.1, growth.values[0])

    def test_p2_statement_rows(self):
        def run(images, base_ref, store, selects, extra):
            return {'images': images, 'repeat': 0,
                    'seconds': {'base_ref': [0.011], 'store': [0.010]},
                    'statements': {'base_ref': base_ref, 'store': store},
                    'selects': {'base_ref': selects, 'store': [9, 9, 9]},
                    'extra_statements': extra}

        pk_read = ('SELECT images.id AS images_id FROM images '
                   'WHERE images.id = ?')
        runs = [run(10, [22, 22, 23], [20, 20, 20], [10, 10, 10],
                    [pk_read, 'BEGIN']),
                run(10000, [22, 22, 22], [20, 20, 20], [10, 10, 10],
                    [pk_read, 'BEGIN'])]
        rows = dict((r.what, r) for r in p2.p2_rows(runs))
        selects = rows['SELECT statements base ref - store header, '
                       '10 images']
        self.assertEqual([1], selects.values)
        self.assertEqual(1, selects.at_most)
        self.assertTrue(selects.met)
        self.assertEqual(
            'the extra SELECTs: SELECT ... FROM images WHERE images.id = ?',
            selects.note)
        # The total, BEGIN included, has no target
        total = rows['SQL statements base ref - store header, 10 images']
        self.assertEqual([2], total.values)
        self.assertIsNone(total.met)
        self.assertIn('SELECT ... FROM images WHERE images.id = ? | BEGIN',
                      total.note)
        self.assertEqual(
            [22], rows['SQL statements per base ref upload, 10 images'
                       ].values)
        growth = rows['SELECT statements base ref - store header, 10000 '
                      'images minus at 10']
        self.assertEqual([0], growth.values)
        self.assertTrue(growth.met)

    def test_p2_select_target_missed(self):
        # What the repo's get cost: the image, then its tags
        tags_read = ('SELECT image_tags.id AS image_tags_id FROM image_tags '
                     'WHERE image_tags.image_id = ?')
        runs = [{'images': 10, 'repeat': 0,
                 'seconds': {'base_ref': [0.011], 'store': [0.010]},
                 'statements': {'base_ref': [28], 'store': [24]},
                 'selects': {'base_ref': [11], 'store': [9]},
                 'extra_statements': ['SELECT images.id FROM images', 'BEGIN',
                                      tags_read, 'BEGIN']}]
        rows = dict((r.what, r) for r in p2.p2_rows(runs))
        selects = rows['SELECT statements base ref - store header, '
                       '10 images']
        self.assertEqual([2], selects.values)
        self.assertFalse(selects.met)
        self.assertNotIn('BEGIN', selects.note)
        self.assertIn('SELECT ... FROM image_tags', selects.note)

    def test_p2_runs_without_select_counts(self):
        # Runs recorded before SELECTs were counted keep their total
        runs = [{'images': 10, 'repeat': 0,
                 'seconds': {'base_ref': [0.011], 'store': [0.010]},
                 'statements': {'base_ref': [28], 'store': [24]},
                 'extra_statements': ['BEGIN']}]
        rows = dict((r.what, r) for r in p2.p2_rows(runs))
        self.assertEqual(
            [4], rows['SQL statements base ref - store header, 10 images'
                      ].values)
        self.assertFalse([w for w in rows if w.startswith('SELECT')])

    def test_p2_without_statement_counts_has_no_statement_rows(self):
        runs = [{'images': 10, 'repeat': 0,
                 'seconds': {'base_ref': [0.011], 'store': [0.010]}}]
        self.assertFalse([r for r in p2.p2_rows(runs)
                          if 'SQL' in r.what])

    def test_p3_compares_ours_with_upstream_and_the_limit(self):
        runs = [{'repeat': 0, 'bytes': 100 * MiB, 'poll_seconds': 0.05,
                 'seconds': {'upstream': 4.0, 'copy': 1.0,
                             'colocation': 2.5, 'single_pass': 0.8,
                             'cp': 0.5}}]
        rows = dict((r.what, r) for r in p3.p3_rows(runs))
        self.assertEqual([25.0],
                         rows['upstream copy-image, 100 MiB'].values)
        self.assertEqual([100.0], rows['our copy-image, 100 MiB'].values)
        self.assertEqual([125.0],
                         rows['single-pass limit, 100 MiB'].values)
        self.assertEqual([200.0], rows['cp, 100 MiB'].values)
        ratio = rows['our copy-image / upstream copy-image, 100 MiB']
        self.assertEqual([4.0], ratio.values)
        self.assertTrue(ratio.met)
        ratio = rows['our co-location / upstream copy-image, 100 MiB']
        self.assertEqual([1.6], ratio.values)
        self.assertFalse(ratio.met)
        ratio = rows['our copy-image / single-pass limit, 100 MiB']
        self.assertEqual([0.8], ratio.values)
        self.assertTrue(ratio.met)
        # Runs of before the CPU seconds and the parallel passes were
        # recorded: no rows of them.
        self.assertFalse([r for r in rows if 'CPU' in r or 'at once' in r])

    def test_p3_against_two_single_passes_at_once(self):
        runs = [{'repeat': 0, 'bytes': 100 * MiB, 'poll_seconds': 0.05,
                 'seconds': {'upstream': 4.0, 'copy': 1.0,
                             'colocation': 2.5, 'single_pass': 0.8,
                             'parallel_passes': 1.2, 'cp': 0.5}}]
        rows = dict((r.what, r) for r in p3.p3_rows(runs))
        ratio = rows['two single passes at once / single-pass limit, '
                     '100 MiB']
        self.assertAlmostEqual(0.8 / 1.2, ratio.values[0])
        ratio = rows['our copy-image / two single passes at once, 100 MiB']
        self.assertEqual([1.2], ratio.values)
        self.assertIsNone(ratio.met)
        self.assertEqual(
            [100 / 1.2], rows['two single passes at once, 100 MiB'].values)

    def test_p3_cpu_per_store_against_the_limit(self):
        runs = [{'repeat': 0, 'bytes': 2 * GiB, 'poll_seconds': 0.05,
                 'seconds': {'upstream': 4.0, 'copy': 1.0,
                             'colocation': 2.5, 'single_pass': 0.8,
                             'cp': 0.5},
                 'cpu_seconds': {'upstream': 18.0, 'copy': 12.0,
                                 'colocation': 13.0, 'single_pass': 5.0}}]
        rows = dict((r.what, r) for r in p3.p3_rows(runs))
        # Two target stores, 2 GiB each: upstream's 18 s are 4.5 s per
        # GiB and store; the limit wrote one copy.
        self.assertEqual(
            [4.5], rows['upstream copy-image, CPU s per GiB and store, '
                        '2 GiB'].values)
        self.assertEqual(
            [2.5], rows['single-pass limit, CPU s per GiB and store, '
                        '2 GiB'].values)
        ratio = rows['our copy-image CPU per store / single-pass limit '
                     'CPU, 2 GiB']
        self.assertEqual([1.2], ratio.values)
        self.assertIsNone(ratio.met)

    def test_p3_single_pass_copies_the_file(self):
        folder = self.tmp
        source = os.path.join(folder, 'image')
        with open(source, 'wb') as f:
            f.write(b'x' * 3000)
        target = os.path.join(folder, 'copy')
        with mock.patch.object(p3, '_sync') as sync:
            seconds, cpu = p3.single_pass_seconds(source, target, chunk=1024)
        sync.assert_called_once_with()
        self.assertGreater(seconds, 0)
        self.assertGreaterEqual(cpu, 0)
        self.assertFalse(os.path.exists(target))

    def test_p3_parallel_passes_write_each_target(self):
        source = os.path.join(self.tmp, 'image')
        with open(source, 'wb') as f:
            f.write(b'x' * 3000)
        targets = [os.path.join(self.tmp, 'a'), os.path.join(self.tmp, 'b')]
        written = []
        real_open = open

        def recording_open(path, mode='r', *args, **kwargs):
            if 'w' in mode:
                written.append(path)
            return real_open(path, mode, *args, **kwargs)

        with mock.patch.object(p3, '_sync'), \
                mock.patch('builtins.open', recording_open):
            self.assertGreater(
                p3.parallel_passes_seconds(source, targets, chunk=1024), 0)
        self.assertEqual(sorted(targets), sorted(written))
        self.assertFalse([t for t in targets if os.path.exists(t)])

    def test_p3_parallel_passes_report_a_failing_target(self):
        source = os.path.join(self.tmp, 'image')
        with open(source, 'wb') as f:
            f.write(b'x')
        with mock.patch.object(p3, '_sync'):
            self.assertRaises(
                bench.BenchError, p3.parallel_passes_seconds, source,
                [os.path.join(self.tmp, 'missing', 'a')])

    def test_p4_names_the_longest_step_and_judges_warm_only(self):
        runs = [{'project': 'nova', 'release': '2026.2', 'cache': 'cold',
                 'seconds': 700.0,
                 'steps': {'venv': 100.0, 'unpatched': 300.0}},
                {'project': None, 'release': None, 'cache': 'cold',
                 'seconds': 710.0, 'steps': {}},
                {'project': 'nova', 'release': '2026.2', 'cache': 'warm',
                 'seconds': 500.0,
                 'steps': {'venv': 2.0, 'patched': 310.0}},
                {'project': None, 'release': None, 'cache': 'warm',
                 'seconds': 505.0, 'steps': {}}]
        rows = p4.p4_rows(runs)
        self.assertEqual('verify nova 2026.2, cold', rows[0].what)
        self.assertIn('unpatched (300s)', rows[0].note)
        self.assertIsNone(rows[1].met)  # cold total: no target
        self.assertEqual('verify, every release, warm', rows[3].what)
        # The pass's own wall time, not the sum of its pairs.
        self.assertEqual([505.0], rows[3].values)
        self.assertTrue(rows[3].met)

    def test_p4_sums_each_release_and_times_each_pass(self):
        def run(project, release, cache, seconds):
            return {'project': project, 'release': release, 'cache': cache,
                    'seconds': seconds, 'steps': {'patched': seconds}}

        runs = [run('nova', '2026.2', 'warm', 100.0),
                run('glance', '2026.2', 'warm', 50.0),
                run('nova', '2024.1', 'warm', 80.0),
                {'project': None, 'release': None, 'cache': 'warm',
                 'seconds': 200.0, 'steps': {}},
                run('nova', '2026.2', p4.WARM_REUSED, 60.0),
                run('glance', '2026.2', p4.WARM_REUSED, 30.0),
                run('nova', '2024.1', p4.WARM_REUSED, 40.0),
                {'project': None, 'release': None, 'cache': p4.WARM_REUSED,
                 'seconds': 120.0, 'steps': {}}]
        rows = dict((r.what, r) for r in p4.p4_rows(runs))
        self.assertEqual([150.0], rows['verify, release 2026.2, warm'].values)
        self.assertEqual([80.0], rows['verify, release 2024.1, warm'].values)
        self.assertEqual([200.0], rows['verify, every release, warm'].values)
        self.assertEqual(
            [120.0],
            rows['verify, every release, warm, baseline reused'].values)
        self.assertIsNone(
            rows['verify, every release, warm, baseline reused'].met)

    def test_p4_floor_is_the_tests_own_time_over_the_workers(self):
        runs = [{'project': 'nova', 'release': '2026.2', 'cache': 'warm',
                 'seconds': 500.0, 'steps': {'patched': 300.0},
                 'test_seconds': 900.0},
                {'project': 'cinder', 'release': '2026.2', 'cache': 'warm',
                 'seconds': 100.0, 'steps': {'patched': 60.0},
                 'test_seconds': 100.0},
                {'project': None, 'release': None, 'cache': 'warm',
                 'seconds': 620.0, 'steps': {}, 'workers': 2},
                # An older run kept no test times: no floor for it.
                {'project': 'nova', 'release': '2026.2', 'cache': 'cold',
                 'seconds': 900.0, 'steps': {'venv': 300.0}},
                {'project': None, 'release': None, 'cache': 'cold',
                 'seconds': 910.0, 'steps': {}}]
        rows = dict((r.what, r) for r in p4.p4_rows(runs))
        floor = rows['verify, every release, warm: its tests alone']
        self.assertEqual([500.0], floor.values)
        self.assertTrue(floor.met)
        self.assertIn('1000s, over 2 workers', floor.note)
        self.assertFalse(rows['verify, every release, warm'].met)
        self.assertNotIn('verify, every release, cold: its tests alone',
                         rows)

    def test_p4_counts_the_tests_of_the_sides_a_pair_ran(self):
        def report(reused):
            return mock.Mock(patched=testrun.Results({}, None, 9.0, 40.0),
                             unpatched=testrun.Results({}, None, 8.0, 30.0),
                             baseline_reused=reused)

        self.assertEqual(70.0, p4.tests_own_seconds(report(False)))
        self.assertEqual(40.0, p4.tests_own_seconds(report(True)))
        self.assertEqual(0.0, p4.tests_own_seconds(mock.Mock(
            patched=None, unpatched=None, baseline_reused=False)))

    def test_p4_runs_every_pair_in_each_pass(self):
        class Report(object):
            def __init__(self, project, release):
                self.project, self.release = project, release
                self.ok, self.error, self.seconds = True, None, 1.0
                self.steps = {'patched': 1.0}
                self.patched = testrun.Results({}, None, 1.0, 1.5)
                self.unpatched, self.baseline_reused = None, False

        pairs = [('nova', '2026.2'), ('nova', '2026.1')]
        calls = []

        def verify_pairs(pairs_, cache_dir, install_system_deps,
                         reuse_baseline):
            calls.append((list(pairs_), reuse_baseline))
            return [Report(*p) for p in pairs_]

        with mock.patch.object(p4.verify_mod, 'plan_pairs',
                               return_value=pairs), \
                mock.patch.object(p4.verify_mod, 'verify_pairs',
                                  side_effect=verify_pairs):
            runs, newest = p4.run_p4(self.tmp, self.tmp, ['nova'], False)
        self.assertEqual([(pairs, True), (pairs, False), (pairs, True)],
                         calls)
        self.assertEqual('2026.2', newest['nova'].release)
        self.assertEqual(9, len(runs))  # 2 pairs and a pass, 3 passes

    def test_p4_runs_only_the_passes_asked_for(self):
        calls = []

        def verify_pairs(pairs_, cache_dir, install_system_deps,
                         reuse_baseline):
            calls.append((cache_dir, reuse_baseline))
            return []

        with mock.patch.object(p4.verify_mod, 'plan_pairs',
                               return_value=[('nova', '2026.2')]), \
                mock.patch.object(p4.verify_mod, 'verify_pairs',
                                  side_effect=verify_pairs):
            runs, _ = p4.run_p4(self.tmp, self.tmp, ['nova'], False,
                                passes=(p4.WARM_REUSED,))
        # The usual cache, baselines reused; no cold cache was made.
        self.assertEqual([(self.tmp, True)], calls)
        self.assertEqual([p4.WARM_REUSED], [r['cache'] for r in runs])
        self.assertRaises(bench.BenchError, p4.run_p4, self.tmp, self.tmp,
                          ['nova'], False, passes=('lukewarm',))

    def test_p4_passes_option(self):
        self.assertEqual(p4.CACHES, command._p4_passes('cold,warm,'
                                                       'warm-reused'))
        self.assertEqual(('warm',), command._p4_passes(' warm '))
        self.assertRaises(bench.BenchError, command._p4_passes, 'hot')
        self.assertRaises(bench.BenchError, command._p4_passes, '')


class TestGlanceDB(base.TestCase):
    """The P2 shortcut on a database shaped like Glance's."""

    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.tmp, 'glance.sqlite')
        db = sqlite3.connect(self.path)
        with db:
            db.execute('CREATE TABLE images (id VARCHAR(36) PRIMARY KEY, '
                       'name TEXT, status TEXT NOT NULL, deleted BOOLEAN '
                       'NOT NULL, deleted_at DATETIME)')
            db.execute('CREATE TABLE image_locations (id INTEGER PRIMARY '
                       'KEY, image_id VARCHAR(36) NOT NULL, value TEXT, '
                       'deleted BOOLEAN NOT NULL, deleted_at DATETIME)')
            db.execute("INSERT INTO images VALUES ('t-1', 'base', 'active', "
                       "0, NULL)")
            db.execute("INSERT INTO image_locations (image_id, value, "
                       "deleted) VALUES ('t-1', 'file:///s/t-1', 0)")
        db.close()
        self.db = p2.GlanceDB(self.path)

    def _rows(self, sql):
        db = sqlite3.connect(self.path)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    def test_copies_images_with_their_locations(self):
        ids = self.db.copy_image('t-1', 3)
        self.assertEqual(3, len(set(ids)))
        self.assertEqual(4, self.db.count())
        locations = dict(self._rows('SELECT image_id, value FROM '
                                    'image_locations'))
        for image_id in ids:
            self.assertEqual('file:///s/%s' % image_id, locations[image_id])
        self.assertEqual([('base',)] * 4,
                         self._rows('SELECT name FROM images'))

    def test_delete_marks_rows_as_glance_does(self):
        ids = self.db.copy_image('t-1', 2)
        self.db.delete(ids[:1])
        self.assertEqual(2, self.db.count())
        self.assertEqual(
            [('deleted', 1)],
            self._rows("SELECT status, deleted FROM images WHERE id = '%s'"
                       % ids[0]))
        self.assertEqual([(1,)], self._rows(
            "SELECT deleted FROM image_locations WHERE image_id = '%s'"
            % ids[0]))

    def test_unknown_template_is_named(self):
        exc = self.assertRaises(bench.BenchError, self.db.copy_image,
                                'nope', 1)
        self.assertIn('nope', str(exc))


class TestP1Checks(base.TestCase):
    """A run whose upload did not reach Glance whole is refused."""

    def _measure(self, answer):
        fake = mock.Mock()
        fake.recorder.uploads.return_value = [{'headers': {
            'x-openstack-base-image-ref': 'b', 'x-auth-token': 't'}}]
        driver = mock.Mock(project='nova')
        driver.measure.return_value = answer
        return p1._p1_measure(driver, fake, MiB)

    def test_short_upload_is_an_error(self):
        exc = self.assertRaises(bench.BenchError, self._measure,
                                {'status': 'active', 'glance_size': 10})
        self.assertIn('1 MiB upload ended active with 10 bytes', str(exc))

    def test_driver_error_is_named(self):
        exc = self.assertRaises(bench.BenchError, self._measure,
                                {'error': 'ImportError: nova'})
        self.assertEqual('P1 nova: ImportError: nova', str(exc))

    def test_headers_on_the_wire_are_kept(self):
        result = self._measure({'status': 'active', 'glance_size': MiB})
        self.assertEqual(['x-openstack-base-image-ref'], result['headers'])

    def test_drivers_running_the_same_code_are_refused(self):
        same = mock.Mock(code='c0de')
        side = mock.Mock()
        with mock.patch('patchseries.clients.ServingDriver') as driver, \
                mock.patch('patchseries.table.upstream_checkout'):
            driver.return_value.wait_ready.return_value = same
            exc = self.assertRaises(bench.BenchError, p1._start_drivers,
                                    'nova', side, {})
        self.assertIn('same code (c0de)', str(exc))
        self.assertEqual(2, same.stop.call_count)


_DRIVER = """
import json, sys
sys.path.insert(0, %(here)r)
import benchmeasure
orders = json.loads(sys.argv[1])
if orders.get('die'):
    sys.stderr.write('no nova here')
    sys.exit(1)

def upload(size):
    if size == 13:
        raise ValueError('unlucky')
    image = benchmeasure.GeneratedImage(size)
    return benchmeasure.measure(lambda: image.read(size), size)

benchmeasure.serve(upload, 1024, benchmeasure.fingerprint(benchmeasure))
"""


class TestServingDriver(base.TestCase):
    """The protocol between bench and a driver, with a driver of ours."""

    def _driver(self, orders):
        script = os.path.join(self.tmp, 'demo_client.py')
        with open(script, 'w') as f:
            f.write(_DRIVER % {'here': os.path.dirname(benchmeasure.__file__)})
        driver = clients.ServingDriver(sys.executable, 'demo', orders,
                                       script=script)
        self.addCleanup(driver.stop)
        return driver

    def test_ready_then_one_answer_per_order(self):
        driver = self._driver({}).wait_ready(timeout=60)
        self.assertEqual(16, len(driver.code))
        self.assertEqual(4096, driver.measure(4096, timeout=60)['bytes'])
        self.assertEqual({'error': 'ValueError: unlucky'},
                         driver.measure(13, timeout=60))
        self.assertEqual(MiB, driver.measure(MiB, timeout=60)['bytes'])
        driver.stop()
        self.assertEqual(0, driver.proc.returncode)

    def test_a_dead_driver_is_named_with_its_stderr(self):
        driver = self._driver({'die': True})
        exc = self.assertRaises(clients.DriverError, driver.wait_ready, 60)
        self.assertIn('the demo driver exited: no nova here', str(exc))


class TestInstructionCounter(base.TestCase):
    """The demo driver under the real callgrind: counts, per upload."""

    def setUp(self):
        super().setUp()
        what = callgrind.missing()
        if what:
            self.skipTest('counting instructions needs %s' % what)

    def test_driver_under_callgrind_counts_each_upload(self):
        library = callgrind.helper_library(self.tmp)
        out = os.path.join(self.tmp, 'demo.out')
        script = os.path.join(self.tmp, 'demo_client.py')
        with open(script, 'w') as f:
            f.write(_DRIVER % {'here': os.path.dirname(benchmeasure.__file__)})
        driver = clients.ServingDriver(
            sys.executable, 'demo', {}, script=script,
            prefix=callgrind.driver_command(out),
            env=callgrind.driver_env(library, out))
        self.addCleanup(driver.stop)
        driver.wait_ready(timeout=600)
        small = driver.measure(MiB, timeout=600)
        large = driver.measure(4 * MiB, timeout=600)
        again = driver.measure(MiB, timeout=600)
        # Reading N bytes of the generated image copies them: the count
        # grows with the size, and the same upload counts (nearly) alike.
        self.assertGreater(large['instructions'], small['instructions'])
        slope, fixed = callgrind.per_byte(
            (MiB, small['instructions']), (4 * MiB, large['instructions']))
        self.assertGreater(slope, 0)
        self.assertAlmostEqual(1.0, again['instructions'] /
                               small['instructions'], places=2)
        # The dumps are callgrind's own: the warm-up, then one an upload.
        self.assertTrue(os.path.exists(out + '.4'))

    def test_outside_valgrind_nothing_is_counted(self):
        library = callgrind.helper_library(self.tmp)
        counter = benchmeasure.InstructionCounter(
            {benchmeasure.CALLGRIND_LIB: library,
             benchmeasure.CALLGRIND_OUT: os.path.join(self.tmp, 'x')})
        counter.start()
        self.assertIsNone(counter.stop())
        result = benchmeasure.measure(lambda: None, 1)
        self.assertNotIn('instructions', result)


class TestCommand(base.TestCase):

    def _run(self, *argv):
        return main.main(['bench', '--cache-dir', self.tmp,
                          '--output', os.path.join(self.tmp, 'out')] +
                         list(argv))

    def test_unknown_figure_is_named(self):
        with mock.patch('sys.stderr') as stderr:
            self.assertEqual(2, self._run('--figures', 'p1,p9'))
        written = ''.join(c.args[0] for c in stderr.write.call_args_list)
        self.assertIn("unknown figure 'p9'", written)

    def test_bad_image_counts_are_named(self):
        with mock.patch('sys.stderr') as stderr:
            self.assertEqual(2, self._run('--p2-images', '10,many'))
        written = ''.join(c.args[0] for c in stderr.write.call_args_list)
        self.assertIn("--p2-images takes positive whole numbers", written)
        self.assertIn("'10,many'", written)

    def test_p1_can_count_without_timing(self):
        with mock.patch.object(command, 'run',
                               return_value=({'started': 'now',
                                              'machine': {}, 'table': '',
                                              'seconds': 1.0,
                                              'figures': {}}, [])) as run, \
                mock.patch('sys.stdout'):
            self.assertEqual(0, self._run('--figures', 'p1',
                                          '--sizes', 'none'))
        self.assertEqual([], run.call_args[0][3])
        self.assertEqual([64 * MiB, 256 * MiB],
                         run.call_args[1]['counted_sizes'])

    def test_p1_measuring_nothing_is_refused(self):
        with mock.patch('sys.stderr') as stderr:
            self.assertEqual(2, self._run('--figures', 'p1', '--sizes',
                                          'none', '--p1-counted-sizes',
                                          'none'))
        written = ''.join(c.args[0] for c in stderr.write.call_args_list)
        self.assertIn('measures nothing', written)

    def test_results_are_written(self):
        rows = [report.Row('P4', 'verify', [1.0], unit='s', at_most=600)]
        results = {'started': 'now', 'machine': {'cores': 2},
                   'table': report.format_table(rows), 'seconds': 1.0,
                   'figures': {'p4': []}, 'rows': [rows[0].as_dict()]}
        with mock.patch.object(command, 'run',
                               return_value=(results, rows)) as run, \
                mock.patch('sys.stdout'):
            self.assertEqual(0, self._run('--figures', 'p4',
                                          '--repeats', '1'))
        self.assertEqual(['p4'], run.call_args[0][0])
        out = os.path.join(self.tmp, 'out')
        with open(os.path.join(out, 'bench.json')) as f:
            self.assertEqual(1, len(json.load(f)['rows']))
        with open(os.path.join(out, 'bench.rst')) as f:
            self.assertIn('verify (s)', f.read())
        # No P1 runs: no plot.
        self.assertFalse(os.path.exists(os.path.join(out, 'bench.png')))


def _part(started, figures, config, seconds=10.0):
    """The results of one run, as its bench.json holds them."""
    return {'started': started, 'seconds': seconds,
            'machine': {'cpu': 'X', 'cores': 2, 'memory_gib': 4.0,
                        'kernel': '6.1', 'python': '3.11.7'},
            'config': dict(config, figures=sorted(figures)),
            'load': {'start': [1.0, 1.0, 1.0], 'end': [2.0, 2.0, 2.0]},
            'figures': figures, 'rows': [], 'table': 'made from rows'}


class TestMerge(base.TestCase):

    def setUp(self):
        super(TestMerge, self).setUp()
        p1_runs = [_p1_run('nova', MiB, 0, patched, 1.0)
                   for patched in (True, False)]
        p4_runs = [{'project': 'nova', 'release': '2026.2', 'cache': 'warm',
                    'seconds': 500.0, 'steps': {'patched': 300.0}},
                   {'project': None, 'release': None, 'cache': 'warm',
                    'seconds': 505.0, 'steps': {}}]
        self.first = _part('2026-12-07T08:30:00+00:00', {'p1': p1_runs},
                           {'sizes': [MiB]})
        self.second = _part('2026-12-07T08:28:00+00:00', {'p4': p4_runs},
                            {'sizes': [4 * MiB]}, seconds=20.0)

    def test_rows_are_made_again_from_each_runs_numbers(self):
        results, rows = command.merge([('a.json', self.first),
                                       ('b.json', self.second)])
        self.assertEqual(['p1', 'p4'], sorted(results['figures']))
        whats = [r.what for r in rows]
        # P1 with its own run's sizes (1 MiB, not the other run's 4 MiB).
        self.assertIn('nova 1 MiB throughput patched/unpatched', whats)
        self.assertIn('verify, every release, warm', whats)
        self.assertEqual(['P1', 'P4'], sorted(set(r.figure for r in rows)))
        self.assertEqual(whats, [r['what'] for r in results['rows']])
        self.assertIn('verify nova 2026.2, warm (s)', results['table'])
        self.assertEqual('2026-12-07T08:28:00+00:00', results['started'])
        # From the first start to the last end: 08:28:00 to 08:30:10.
        self.assertEqual(130.0, results['seconds'])
        self.assertEqual([[1.0, 1.0, 1.0]] * 2,
                         [p['load']['start'] for p in results['parts']])
        self.assertEqual(
            'bench 2026-12-07T08:30:00+00:00 and 2026-12-07T08:28:00+00:00, '
            'X, 2 cores, 4.0 GiB, Linux 6.1, Python 3.11.7',
            command.heading(results))

    def test_a_merged_run_takes_in_another(self):
        p2_runs = [{'images': 10, 'repeat': 0,
                    'seconds': {'base_ref': [0.011], 'store': [0.010]}}]
        third = _part('2026-12-07T09:00:00+00:00', {'p2': p2_runs}, {})
        merged, _ = command.merge([('a.json', self.first),
                                   ('b.json', self.second)])
        merged = json.loads(json.dumps(merged))
        results, rows = command.merge([('ab.json', merged),
                                       ('c.json', third)])
        self.assertEqual(['p1', 'p2', 'p4'], sorted(results['figures']))
        self.assertIn('nova 1 MiB throughput patched/unpatched',
                      [r.what for r in rows])
        self.assertEqual(3, len(results['parts']))
        self.assertEqual(['2026-12-07T08:30:00+00:00',
                          '2026-12-07T08:28:00+00:00',
                          '2026-12-07T09:00:00+00:00'],
                         [p['started'] for p in results['parts']])

    def test_a_figure_measured_twice_is_refused(self):
        again = _part('2026-12-07T09:00:00+00:00',
                      dict(self.second['figures']), {})
        exc = self.assertRaises(bench.BenchError, command.merge,
                                [('a.json', self.second),
                                 ('c.json', again)])
        self.assertIn('a.json and c.json both measured the P4 pass warm',
                      str(exc))
        p1_again = _part('2026-12-07T09:00:00+00:00',
                         dict(self.first['figures']), {'sizes': [MiB]})
        exc = self.assertRaises(bench.BenchError, command.merge,
                                [('a.json', self.first),
                                 ('c.json', p1_again)])
        self.assertIn('a.json and c.json both measured p1', str(exc))
        # The same run named twice is a pass measured twice too.
        exc = self.assertRaises(bench.BenchError, command.merge,
                                [('a.json', self.second),
                                 ('a.json', self.second)])
        self.assertIn('a.json and a.json both measured the P4 pass warm',
                      str(exc))

    def test_p4_passes_of_separate_runs_are_joined(self):
        cold_runs = [{'project': 'nova', 'release': '2026.2',
                      'cache': 'cold', 'seconds': 900.0,
                      'steps': {'venv': 300.0}},
                     {'project': None, 'release': None, 'cache': 'cold',
                      'seconds': 910.0, 'steps': {}}]
        cold = _part('2026-12-07T09:00:00+00:00', {'p4': cold_runs}, {})
        results, rows = command.merge([('warm.json', self.second),
                                       ('cold.json', cold)])
        self.assertEqual(['cold', 'cold', 'warm', 'warm'],
                         sorted(r['cache'] for r in results['figures']['p4']))
        whats = [r.what for r in rows]
        # Each pass once, in the passes' own order.
        self.assertEqual(['verify nova 2026.2, cold',
                          'verify, every release, cold',
                          'verify nova 2026.2, warm',
                          'verify, every release, warm'], whats)
        # And the merged run merges again.
        merged = json.loads(json.dumps(results))
        results, rows = command.merge([('both.json', merged),
                                       ('p1.json', self.first)])
        self.assertEqual(4, len(results['figures']['p4']))

    def test_runs_of_two_machines_are_refused(self):
        self.second['machine']['cores'] = 64
        self.assertRaises(bench.BenchError, command.merge,
                          [('a.json', self.first), ('b.json', self.second)])

    def test_merge_command_writes_the_results(self):
        paths = []
        for name, part in (('a', self.first), ('b', self.second)):
            paths.append(os.path.join(self.tmp, name + '.json'))
            with open(paths[-1], 'w') as f:
                json.dump(part, f)
        out = os.path.join(self.tmp, 'out')
        with mock.patch('sys.stdout'):
            self.assertEqual(0, main.main(
                ['bench', '--cache-dir', self.tmp, '--output', out,
                 '--merge', ','.join(paths)]))
        with open(os.path.join(out, 'bench.json')) as f:
            self.assertEqual(['p1', 'p4'], sorted(json.load(f)['figures']))
        with open(os.path.join(out, 'bench.rst')) as f:
            text = f.read()
        self.assertIn('nova 1 MiB throughput', text)
        self.assertIn('longest step: patched (300s)', text)
        with open(os.path.join(out, 'bench.png'), 'rb') as f:
            self.assertEqual(b'\x89PNG', f.read(4))

    def test_merge_needs_two_files(self):
        with mock.patch('sys.stderr') as stderr:
            self.assertEqual(2, main.main(
                ['bench', '--cache-dir', self.tmp, '--merge',
                 os.path.join(self.tmp, 'missing.json')]))
        written = ''.join(c.args[0] for c in stderr.write.call_args_list)
        self.assertIn('cannot read', written)
        path = os.path.join(self.tmp, 'a.json')
        with open(path, 'w') as f:
            json.dump(self.first, f)
        with mock.patch('sys.stderr') as stderr:
            self.assertEqual(2, main.main(
                ['bench', '--cache-dir', self.tmp, '--merge', path]))
        written = ''.join(c.args[0] for c in stderr.write.call_args_list)
        self.assertIn('--merge takes two bench.json files or more', written)


class TestPlot(base.TestCase):

    def test_draws_a_png(self):
        runs = [_p1_run(p, size, r, patched, 1.0 + r)
                for p in ('nova', 'cinder') for size in (MiB, 4 * MiB)
                for r in range(2) for patched in (True, False)]
        path = os.path.join(self.tmp, 'p1.png')
        plot.plot(runs, path, 'a machine')
        with open(path, 'rb') as f:
            self.assertEqual(b'\x89PNG\r\n\x1a\n', f.read(8))


class TestP3Locations(base.TestCase):
    """P3 watches the copies in a database shaped like Glance's."""

    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.tmp, 'glance.sqlite')
        self._write(
            'CREATE TABLE image_locations (id INTEGER PRIMARY KEY, '
            'image_id VARCHAR(36), value TEXT, meta_data TEXT, status '
            'VARCHAR(30), deleted BOOLEAN)',
            'CREATE TABLE image_properties (id INTEGER PRIMARY KEY, '
            'image_id VARCHAR(36), name VARCHAR(255), value TEXT, deleted '
            'BOOLEAN)')
        self.locations = p3._Locations(self.path)
        self.addCleanup(self.locations.close)

    def _write(self, *statements):
        db = sqlite3.connect(self.path)
        with db:
            for sql in statements:
                db.execute(sql)
        db.close()

    def _location(self, image, store, status='active', deleted=0):
        self._write(
            "INSERT INTO image_locations (image_id, value, meta_data, "
            "status, deleted) VALUES ('%s', 'file:///%s/%s', '%s', '%s', %d)"
            % (image, store, image, json.dumps({'store': store}), status,
               deleted))

    def test_only_active_locations_count(self):
        self._location('i-1', 'store1')
        self._location('i-1', 'store2', status='pending')
        self._location('i-1', 'store3', deleted=1)
        self._location('i-2', 'store3')
        self.assertEqual({'store1'}, self.locations.stores('i-1'))
        # Written by Glance while the bench watches.
        self._location('i-1', 'store2')
        self.assertEqual({'store1', 'store2'}, self.locations.stores('i-1'))

    def test_failed_stores(self):
        self.assertEqual('', self.locations.failed('i-1'))
        self._write("INSERT INTO image_properties (image_id, name, value, "
                    "deleted) VALUES ('i-1', 'os_glance_failed_import', "
                    "'store3', 0)")
        self.assertEqual('store3', self.locations.failed('i-1'))

    def test_the_database_is_only_read(self):
        self.assertRaises(sqlite3.OperationalError, self.locations.db.execute,
                          "DELETE FROM image_locations")
