import io
import os
import shutil
from unittest import mock

from patchseries import detect
from patchseries import exceptions
from patchseries import git
from patchseries import pq
from tests import base
from tests.unit import test_pq
from tests.unit import test_tree


class TestDetectSdistTree(test_tree.TreeTestCase):
    """Trees made from the sdist (a tarball or ``patchseries tree``)."""

    def test_detects_from_pkg_info(self):
        repo = self.make_tree()
        self.assertEqual(('version', '1.0', 'PKG-INFO'),
                         detect.detect(repo.path, 'toy'))
        release, how = detect.detect_release(self.target, repo.path)
        self.assertIs(self.release, release)
        self.assertEqual('toy 1.0 from PKG-INFO', how)

    def test_detects_from_pbr_metadata(self):
        repo = self.make_tree()
        os.unlink(os.path.join(repo.path, 'PKG-INFO'))
        egg = os.path.join(repo.path, 'toy.egg-info')
        os.makedirs(egg)
        with open(os.path.join(egg, 'PKG-INFO'), 'w') as f:
            f.write('Metadata-Version: 2.1\nName: toy\nVersion: 1.0.1\n')
        kind, version, how = detect.detect(repo.path, 'toy')
        self.assertEqual(('version', '1.0.1'), (kind, version))
        self.assertIn('pbr metadata', how)
        # A point release of the same major takes the release's series.
        self.assertIs(self.release,
                      detect.release_of_tree(self.target, repo.path))

    def test_unknown_version_lists_known_releases(self):
        repo = self.make_tree()
        with open(os.path.join(repo.path, 'PKG-INFO'), 'w') as f:
            f.write('Metadata-Version: 2.1\nName: toy\nVersion: 7.0.0\n')
        exc = self.assertRaises(exceptions.UnknownRelease,
                                detect.release_of_tree, self.target,
                                repo.path)
        self.assertIn('version 7.0.0', str(exc))
        self.assertIn('2026.2 (toy 1.0)', str(exc))

    def test_tree_without_any_version_is_a_clear_error(self):
        bare = os.path.join(self.tmp, 'bare')
        shutil.copytree(os.path.join(os.path.dirname(__file__)), bare)
        exc = self.assertRaises(exceptions.UnknownRelease,
                                detect.release_of_tree, self.target, bare)
        self.assertIn('no PKG-INFO', str(exc))
        self.assertIn('known releases: 2026.2', str(exc))


class TestDetectGitCheckout(base.TestCase):
    """Git checkouts of upstream: stable heads, tags, unmaintained branches.

    The toy project has four releases, one major version each, as
    OpenStack numbers them.
    """

    RELEASES = {'2026.2': ('4.0.0', 'a' * 64), '2026.1': ('3.0.2', 'b' * 64),
                '2025.1': ('2.3.1', 'c' * 64), '2024.1': ('1.4.0', 'd' * 64)}

    def setUp(self):
        super().setUp()
        self.target = base.make_target(
            os.path.join(self.tmp, 'toy_patch'), self.RELEASES)
        self.repo = git.Repo(os.path.join(self.tmp, 'upstream'))
        os.makedirs(self.repo.path)
        self.repo.run('init', '--quiet', '--initial-branch', 'master')
        self.repo.run('config', 'user.name', 'Toy Upstream')
        self.repo.run('config', 'user.email', 'toy@example.invalid')
        self.commits = 0

    def commit(self, count=1):
        for _ in range(count):
            self.commits += 1
            base.commit_change(self.repo, 'toy.py',
                               'N = %d\n' % self.commits,
                               'Change %d' % self.commits)

    def detected(self, path=None):
        release, how = detect.detect_release(self.target,
                                             path or self.repo.path)
        return release.name, how

    def test_stable_branch_head_past_its_last_tag(self):
        self.commit()
        self.repo.run('checkout', '--quiet', '-b', 'stable/2026.1')
        self.commit()
        self.repo.run('tag', '3.0.2')
        self.commit(10)
        name, how = self.detected()
        self.assertEqual('2026.1', name)
        self.assertRegex(how, r'^git describe 3\.0\.2-10-g[0-9a-f]+ '
                              r'on stable/2026\.1$')

    def test_exact_point_release_tag(self):
        self.commit()
        self.repo.run('tag', '2.3.1')
        self.repo.run('checkout', '--quiet', '--detach')
        self.assertEqual(('version', '2.3.1'),
                         detect.detect(self.repo.path, 'toy')[:2])
        self.assertEqual('2025.1', self.detected()[0])

    def test_newer_point_release_takes_its_release_series(self):
        self.commit()
        self.repo.run('tag', '3.0.7')
        self.repo.run('checkout', '--quiet', '--detach')
        name, how = self.detected()
        self.assertEqual('2026.1', name)
        self.assertIn('toy 3.0.7', how)

    def test_detached_clone_of_a_stable_branch(self):
        self.commit()
        self.repo.run('tag', '2.3.1')
        self.repo.run('checkout', '--quiet', '-b', 'stable/2025.1')
        self.commit(3)
        self.repo.run('checkout', '--quiet', 'master')
        self.commit(2)
        clone = os.path.join(self.tmp, 'clone')
        git.Repo(self.tmp).run('clone', '--quiet', '--branch',
                               'stable/2025.1', self.repo.path, clone)
        git.Repo(clone).run('checkout', '--quiet', '--detach')
        name, how = self.detected(clone)
        self.assertEqual('2025.1', name)
        self.assertIn('(detached HEAD), held by a 2025.1 branch', how)

    def test_commit_before_a_branch_point_is_the_older_release(self):
        self.commit()
        before = self.repo.head()
        self.repo.run('branch', 'stable/2025.1')
        self.commit()
        self.repo.run('branch', 'stable/2026.1')
        self.repo.run('checkout', '--quiet', before)
        self.assertEqual('2025.1', self.detected()[0])

    def test_unmaintained_branch_past_its_eom_tag(self):
        self.commit()
        self.repo.run('tag', '1.4.0')
        self.commit()
        self.repo.run('tag', '2024.1-eom')
        self.commit(19)
        # Detached, with no branch to tell: the eom tag names the release.
        self.repo.run('checkout', '--quiet', '--detach')
        name, how = self.detected()
        self.assertEqual('2024.1', name)
        self.assertIn('git describe 2024.1-eom-19-g', how)

    def test_master_past_a_final_tag_is_development(self):
        self.commit()
        self.repo.run('tag', '3.0.0')
        self.repo.run('branch', 'stable/2026.1')
        self.commit(3)
        exc = self.assertRaises(exceptions.UnknownRelease, self.detected)
        self.assertIn('no series for a development tree past 3.0.0', str(exc))
        self.assertIn('on master, held by no release branch', str(exc))

    def test_development_tag_names_the_coming_release(self):
        self.commit()
        self.repo.run('tag', '4.0.0.0b2')
        self.commit(5)
        self.assertEqual('2026.2', self.detected()[0])

    def test_branch_of_a_release_without_series_lists_known_ones(self):
        self.commit()
        self.repo.run('tag', '3.1.0')
        self.repo.run('checkout', '--quiet', '-b', 'stable/2025.2')
        self.commit()
        exc = self.assertRaises(exceptions.UnknownRelease,
                                self.detected)
        self.assertIn('no series for release 2025.2', str(exc))
        self.assertIn('known releases: 2024.1 (toy 1.4.0), 2025.1 (toy '
                      '2.3.1), 2026.1 (toy 3.0.2), 2026.2 (toy 4.0.0)',
                      str(exc))

    def test_checkout_without_tags_or_release_branch_is_an_error(self):
        self.commit()
        exc = self.assertRaises(exceptions.UnknownRelease, self.detected)
        self.assertIn('no release branch or version tag', str(exc))


class TestApplyCheckSaysWhatItDetected(test_pq.PqTestCase):

    def test_check_names_release_and_how(self):
        self.make_series()
        repo = self.make_tree('user')
        args = mock.Mock(project='toy', tree=repo.path, release=None,
                         check=True)
        with mock.patch.object(pq.target_mod, 'load_target',
                               return_value=self.target), \
                mock.patch('sys.stdout', new_callable=io.StringIO) as out:
            self.assertEqual(0, pq.apply_cmd(args))
        self.assertIn('toy: %s is release 2026.2 (toy 1.0 from PKG-INFO); '
                      'its series was made for toy 1.0' % repo.path,
                      out.getvalue())
        self.assertIn('2 patch(es) of the 2026.2 series applies cleanly',
                      out.getvalue())
