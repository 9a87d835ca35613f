import os

from patchseries import exceptions
from patchseries import git
from patchseries import pq
from patchseries import series as series_mod
from tests import base
from tests.unit import test_tree

CHANGE_A = 'I' + 'a' * 40
CHANGE_B = 'I' + 'b' * 40


class PqTestCase(test_tree.TreeTestCase):

    def setUp(self):
        super().setUp()
        self.series = series_mod.Series(self.release.series_dir)

    def make_series(self):
        """Two commits on a patch-queue branch, exported as the series."""
        repo = self.make_tree('work')
        base.commit_change(repo, 'toy/core.py',
                           'def answer():\n    return 42\n',
                           'Fix the answer', CHANGE_A)
        base.commit_change(repo, 'toy/other.py', 'NAME = "toy2"\n',
                           'Rename the toy', CHANGE_B)
        pq.export_series(repo, 'upstream/toy-1.0', self.series.path)
        return repo

    def snapshot(self, repo):
        files = {}
        for top, dirs, names in os.walk(repo.path):
            dirs[:] = [d for d in dirs if d != '.git']
            for name in names:
                path = os.path.join(top, name)
                with open(path, 'rb') as f:
                    files[os.path.relpath(path, repo.path)] = f.read()
        return (repo.head(), repo.branch(), repo.out('status', '--porcelain'),
                files)


class TestExport(PqTestCase):

    def test_export_writes_format_patch_files(self):
        self.make_series()
        patches = self.series.patches
        self.assertEqual(['0001-Fix-the-answer.patch',
                          '0002-Rename-the-toy.patch'],
                         [p.name for p in patches])
        self.assertEqual('Fix the answer', patches[0].subject)
        self.assertEqual([CHANGE_A], patches[0].change_ids)
        self.assertEqual(['toy/core.py'], patches[0].files)
        with open(patches[0].path) as f:
            text = f.read()
        self.assertTrue(text.startswith('From ' + '0' * 40 + ' '))
        self.assertNotIn('\n-- \n', text, 'no git version signature')
        self.assertIn('Subject: [PATCH] Fix the answer\n', text)

    def test_export_is_byte_stable(self):
        repo = self.make_series()
        before = dict((p.name, open(p.path, 'rb').read())
                      for p in self.series)
        summary = pq.export_series(repo, 'upstream/toy-1.0',
                                   self.series.path)
        self.assertEqual({'added': [], 'removed': [], 'changed': []},
                         summary)
        after = dict((p.name, open(p.path, 'rb').read())
                     for p in self.series)
        self.assertEqual(before, after)

    def test_export_drops_files_of_dropped_commits(self):
        repo = self.make_series()
        repo.run('reset', '--quiet', '--hard', 'HEAD~1')
        summary = pq.export_series(repo, 'upstream/toy-1.0',
                                   self.series.path)
        self.assertEqual(['0002-Rename-the-toy.patch'], summary['removed'])
        self.assertEqual(['0001-Fix-the-answer.patch'],
                         [p.name for p in self.series])

    def test_export_refuses_uncommitted_changes(self):
        repo = self.make_series()
        with open(os.path.join(repo.path, 'toy', 'core.py'), 'a') as f:
            f.write('# not committed\n')
        exc = self.assertRaises(exceptions.TreeError, pq.export_series,
                                repo, 'upstream/toy-1.0', self.series.path)
        self.assertIn('toy/core.py', str(exc))


class TestApply(PqTestCase):

    def test_round_trip_reproduces_commits_and_files(self):
        work = self.make_series()
        exported = dict((p.name, open(p.path, 'rb').read())
                        for p in self.series)
        fresh = self.make_tree('fresh')
        applied = pq.apply_series(fresh, self.series)
        self.assertEqual(2, len(applied))
        # Same author dates and committer dates from the author dates:
        # the applied commits are the very same objects.
        self.assertEqual(work.head(), fresh.head())
        pq.export_series(fresh, 'upstream/toy-1.0', self.series.path)
        self.assertEqual(exported, dict((p.name, open(p.path, 'rb').read())
                                        for p in self.series))

    def test_empty_series_applies_nothing(self):
        repo = self.make_tree()
        head = repo.head()
        self.assertEqual([], pq.apply_series(repo, self.series))
        self.assertEqual(head, repo.head())

    def test_conflict_names_patch_and_files_and_restores_tree(self):
        self.make_series()
        repo = self.make_tree('user')
        base.commit_change(repo, 'toy/other.py', 'NAME = "local"\n',
                           'A local change')
        before = self.snapshot(repo)
        exc = self.assertRaises(exceptions.ApplyConflict, pq.apply_series,
                                repo, self.series)
        self.assertEqual('0002-Rename-the-toy.patch', exc.patch_name)
        self.assertEqual(('toy/other.py',), exc.files)
        self.assertIn('0002-Rename-the-toy.patch does not apply', str(exc))
        self.assertIn('toy/other.py', str(exc))
        self.assertEqual(before, self.snapshot(repo))
        self.assertFalse(os.path.exists(
            os.path.join(repo.git_dir(), 'rebase-apply')))

    def test_check_leaves_tree_alone(self):
        self.make_series()
        repo = self.make_tree('user')
        before = self.snapshot(repo)
        self.assertEqual(2, len(pq.apply_series(repo, self.series,
                                                check=True)))
        self.assertEqual(before, self.snapshot(repo))
        self.assertEqual(1, len(repo.out('worktree', 'list').splitlines()))

    def test_check_reports_conflict(self):
        self.make_series()
        repo = self.make_tree('user')
        base.commit_change(repo, 'toy/core.py', 'def answer():\n    pass\n',
                           'A local change')
        before = self.snapshot(repo)
        exc = self.assertRaises(exceptions.ApplyConflict, pq.apply_series,
                                repo, self.series, check=True)
        self.assertEqual('0001-Fix-the-answer.patch', exc.patch_name)
        self.assertEqual(before, self.snapshot(repo))

    def test_dirty_tree_is_refused_untouched(self):
        self.make_series()
        repo = self.make_tree('user')
        path = os.path.join(repo.path, 'toy', 'core.py')
        with open(path, 'a') as f:
            f.write('# work in progress\n')
        before = self.snapshot(repo)
        exc = self.assertRaises(exceptions.TreeError, pq.apply_series,
                                repo, self.series)
        self.assertIn('uncommitted changes in toy/core.py', str(exc))
        self.assertEqual(before, self.snapshot(repo))

    def test_not_a_tree_is_a_clear_error(self):
        exc = self.assertRaises(exceptions.TreeError, pq.apply_series,
                                git.Repo(self.tmp), self.series)
        self.assertIn('not the top of a git tree', str(exc))
