import os
import subprocess

from patchseries import exceptions
from patchseries import git
from patchseries import tree
from tests import base


class TreeTestCase(base.TestCase):
    """A toy target with release 2026.2 -> toy 1.0 on a loopback index."""

    def setUp(self):
        super().setUp()
        self.index = self.useFixture(
            base.SimpleIndexFixture(os.path.join(self.tmp, 'index')))
        self.cache = os.path.join(self.tmp, 'cache')
        path, sha = base.make_sdist(self.tmp, 'toy', '1.0', base.TOY_FILES)
        self.index.publish(path, 'toy', sha)
        self.target = base.make_target(os.path.join(self.tmp, 'toy_patch'),
                                       {'2026.2': ('1.0', sha)})
        self.release = self.target.release('2026.2')

    def make_tree(self, name='tree'):
        return tree.make_tree(self.release, os.path.join(self.tmp, name),
                              self.cache)


class TestMakeTree(TreeTestCase):

    def test_base_commit_is_reproducible(self):
        first = self.make_tree('one')
        second = self.make_tree('two')
        self.assertEqual(first.head(), second.head())
        self.assertEqual('Import toy 1.0 (2026.2) from its sdist',
                         first.out('log', '-1', '--format=%s'))

    def test_branches_follow_gbp_pq(self):
        repo = self.make_tree()
        self.assertEqual('patch-queue/toy-1.0', repo.branch())
        self.assertEqual(repo.head(),
                         repo.out('rev-parse', 'upstream/toy-1.0'))

    def test_commits_by_hand_are_authored_by_the_project(self):
        repo = self.make_tree()
        with open(os.path.join(os.environ['HOME'], '.gitconfig'), 'w') as f:
            f.write('[user]\n\tname = Someone Else\n'
                    '\temail = someone@example.invalid\n')
        subprocess.run(['git', '-C', repo.path, 'commit', '--quiet',
                        '--allow-empty', '-m', 'By hand'], check=True,
                       env=dict(os.environ, GIT_CONFIG_NOSYSTEM='1'))
        self.assertEqual('%s <%s>' % git.IDENTITY,
                         repo.out('log', '-1', '--format=%an <%ae>'))

    def test_pkg_info_is_tracked_and_litter_ignored(self):
        repo = self.make_tree()
        self.assertIn('PKG-INFO', repo.out('ls-files').split())
        for litter in ('.stestr/0', 'toy/__pycache__/core.cpython-311.pyc',
                       'toy.egg-info/PKG-INFO'):
            path = os.path.join(repo.path, litter)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.write('litter')
        self.assertEqual('', repo.out('status', '--porcelain'))

    def test_existing_dest_is_refused_without_force(self):
        repo = self.make_tree()
        marker = os.path.join(repo.path, 'mine.txt')
        with open(marker, 'w') as f:
            f.write('keep me')
        exc = self.assertRaises(exceptions.TreeError, self.make_tree)
        self.assertIn('--force', str(exc))
        self.assertTrue(os.path.exists(marker))
        tree.make_tree(self.release, repo.path, self.cache, force=True)
        self.assertFalse(os.path.exists(marker))

    def test_tree_owned_by_another_user_works(self):
        if os.geteuid() != 0:
            self.skipTest('needs root to give the tree to another user')
        repo = self.make_tree()
        for top, dirs, files in os.walk(repo.path):
            for name in dirs + files:
                os.lchown(os.path.join(top, name), 65534, 65534)
        os.lchown(repo.path, 65534, 65534)
        self.assertEqual('patch-queue/toy-1.0', git.Repo(repo.path).branch())
        self.assertEqual([], git.Repo(repo.path).dirty_files())
