"""The repair against the fake Glance, through openstacksdk."""

import io
import json
import os
import threading

from affinityclient import audit
from affinityclient import exceptions
from affinityclient import progress as progress_mod
from affinityclient import repair
from affinityclient import state as state_mod
from affinityclient import stores as stores_mod
from tests.unit import affinity_base


class TestRepair(affinity_base.AffinityTestCase):

    def setUp(self):
        super().setUp()
        self.wrong = [self.add_snapshot('s%d' % i, 'p1', self.base23)
                      for i in range(6)]
        self.right = self.add_snapshot('ok', 'p1', self.base2,
                                       ('store2',))
        self.state_path = os.path.join(self.tmp, 'state.jsonl')

    def work(self, conn):
        stores = stores_mod.load_stores(conn.image)
        return [repair.Work.from_finding(f)
                for f in audit.audit(conn.image, stores, self.filters())
                if f.misplaced]

    def repair(self, conn=None, **kw):
        conn = conn or self.connection()
        state = state_mod.State(self.state_path, conn.image.get_endpoint())
        kw.setdefault('poll', 0.05)
        runner = repair.Repair(conn.image, state, **kw)
        return list(runner.run(self.work(conn)))

    def imports(self):
        return self.fake.recorder.entries('POST', '/import')

    def test_repair_copies_and_a_second_audit_is_clean(self):
        stream = io.StringIO()
        conn = self.connection()
        work = self.work(conn)
        bar = progress_mod.Progress(len(work), sum(w.size for w in work),
                                    stream=stream)
        state = state_mod.State(self.state_path, conn.image.get_endpoint())
        outcomes = list(repair.Repair(conn.image, state, concurrency=2,
                                      progress=bar, poll=0.05).run(work))
        self.assertEqual(sorted(self.wrong),
                         sorted(o.image for o in outcomes))
        self.assertEqual({repair.COPIED}, set(o.result for o in outcomes))
        for image_id in self.wrong:
            self.assertEqual(('store1', 'store2', 'store3'),
                             self.stores_of(image_id))
        self.assertEqual([], self.work(conn))
        self.assertEqual(6, len(stream.getvalue().splitlines()))
        self.assertIn('repair: 6/6 ', stream.getvalue())

    def test_dry_run_changes_nothing(self):
        outcomes = self.repair(dry_run=True)
        self.assertEqual({repair.WOULD_COPY},
                         set(o.result for o in outcomes))
        self.assertEqual([('store2', 'store3')] * 6,
                         [o.stores for o in outcomes])
        self.assertEqual([], self.imports())
        self.assertEqual([], self.fake.recorder.entries('DELETE'))
        self.assertFalse(os.path.exists(self.state_path))
        self.assertEqual(6, len(self.work(self.connection())))

    def test_interrupted_repair_resumes(self):
        first = self.repair(limit=2, concurrency=1)
        copied = [o.image for o in first if o.result == repair.COPIED]
        self.assertEqual(2, len(copied))
        self.assertEqual(4, len([o for o in first
                                 if o.result == repair.SKIPPED]))
        # A run stopped while Glance copies: the state says started.
        stopped = [i for i in self.wrong if i not in copied][0]
        state = state_mod.State(self.state_path,
                                self.connection().image.get_endpoint())
        state.record(stopped, state_mod.STARTED, ('store2', 'store3'))
        self.fake.images.update(stopped, {
            'os_glance_importing_to_stores': 'store2,store3'})

        def finish_copy():
            self.fake.images.copy_to(stopped, 'store2')
            self.fake.images.copy_to(stopped, 'store3')
            self.fake.images.update(stopped, {
                'os_glance_importing_to_stores': ''})
        timer = threading.Timer(0.5, finish_copy)
        timer.start()
        self.addCleanup(timer.join)
        before = len(self.imports())
        second = self.repair(concurrency=3)
        # The copied ones are in place and not listed again; the started
        # one is awaited, not asked for again.
        self.assertEqual(sorted(set(self.wrong) - set(copied)),
                         sorted(o.image for o in second))
        self.assertEqual(3, len(self.imports()) - before)
        self.assertNotIn(stopped, [e['path'].split('/')[3]
                                   for e in self.imports()[before:]])
        self.assertEqual([], self.work(self.connection()))
        with open(self.state_path) as f:
            events = [json.loads(line) for line in f][1:]
        done = [e['image'] for e in events if e['event'] == 'done']
        self.assertEqual(sorted(self.wrong), sorted(done))

    def test_state_skips_images_done_earlier(self):
        state = state_mod.State(self.state_path,
                                self.connection().image.get_endpoint())
        state.record(self.wrong[0], state_mod.DONE, ('store2',))
        outcomes = dict((o.image, o) for o in self.repair())
        self.assertEqual(repair.SKIPPED, outcomes[self.wrong[0]].result)
        self.assertIn('earlier run', outcomes[self.wrong[0]].why)
        self.assertEqual(5, len(self.imports()))

    def test_failed_copy_is_reported_and_retried_later(self):
        self.fake.app.copy_failures.add('store3')
        outcomes = self.repair()
        self.assertEqual({repair.FAILED}, set(o.result for o in outcomes))
        self.assertIn('could not copy into store3', outcomes[0].why)
        self.fake.app.copy_failures.clear()
        outcomes = self.repair()
        self.assertEqual({repair.COPIED}, set(o.result for o in outcomes))
        self.assertEqual([], self.work(self.connection()))

    def test_member_without_copy_image_changes_nothing(self):
        conn = self.connection('p1', roles=('member', 'reader'))
        exc = self.assertRaises(exceptions.NotPermitted, self.repair,
                                conn=conn)
        self.assertIn('copy_image policy is admin-only', str(exc))
        # The refusal is recorded as such: a later run tries again.
        state = state_mod.State(self.state_path,
                                conn.image.get_endpoint())
        self.assertEqual({'failed'}, set(
            state.event_of(i)['event'] for i in self.wrong
            if state.event_of(i)))
        for image_id in self.wrong:
            self.assertEqual(('store1',), self.stores_of(image_id))

    def test_move_removes_old_store_after_verified_copy(self):
        outcomes = self.repair(move=True)
        self.assertEqual({repair.MOVED}, set(o.result for o in outcomes))
        for image_id in self.wrong:
            self.assertEqual(('store2', 'store3'), self.stores_of(image_id))
        self.assertEqual(6, len(self.fake.recorder.entries('DELETE')))

    def test_move_keeps_old_store_when_the_copy_failed(self):
        self.fake.app.copy_failures.add('store3')
        self.repair(move=True)
        self.assertEqual([], self.fake.recorder.entries('DELETE'))
        for image_id in self.wrong:
            self.assertEqual(('store1', 'store2'), self.stores_of(image_id))

    def test_copy_image_must_be_offered(self):
        self.fake.faults.arm('http_404', 'import_info')
        self.assertRaises(exceptions.AffinityError, repair.check_copy_image,
                          self.connection().image)
        repair.check_copy_image(self.connection().image)


class TestProgress(affinity_base.base.TestCase):

    def test_bar_on_a_terminal_lines_elsewhere(self):
        class Terminal(io.StringIO):
            def isatty(self):
                return True
        outcome = repair.Outcome('i1', 512 * 1024 ** 2, repair.COPIED,
                                 ('store2',), 'copied')
        tty = Terminal()
        bar = progress_mod.Progress(2, 1024 ** 3, stream=tty)
        bar.step(outcome)
        bar.close()
        self.assertEqual('\r[###############...............] 1/2 images, '
                         '0.50/1.00 GiB (copied 1)\n', tty.getvalue())
        plain = io.StringIO()
        bar = progress_mod.Progress(2, 1024 ** 3, stream=plain)
        bar.step(outcome)
        bar.close()
        self.assertEqual('repair: 1/2 i1 copied store2\n', plain.getvalue())


class TestState(affinity_base.base.TestCase):

    def test_other_glance_is_refused(self):
        path = os.path.join(self.tmp, 's.jsonl')
        state_mod.State(path, 'http://a/').record('i1', state_mod.DONE)
        exc = self.assertRaises(exceptions.StateError, state_mod.State,
                                path, 'http://b/')
        self.assertIn('not of http://b/', str(exc))

    def test_partial_last_line_is_ignored_a_bad_line_is_not(self):
        path = os.path.join(self.tmp, 's.jsonl')
        state_mod.State(path, 'e').record('i1', state_mod.DONE)
        with open(path, 'a') as f:
            f.write('{"image": "i2", "ev')
        state = state_mod.State(path, 'e')
        self.assertEqual('done', state.event_of('i1')['event'])
        self.assertIsNone(state.event_of('i2'))
        with open(path, 'a') as f:
            f.write('\n')
        self.assertRaises(exceptions.StateError, state_mod.State, path, 'e')

    def test_default_path_is_per_endpoint_under_the_cache(self):
        one = state_mod.default_path('http://a/')
        self.assertTrue(one.startswith(os.path.expanduser('~/.cache/')))
        self.assertNotEqual(one, state_mod.default_path('http://b/'))
