import os
import re

import ddt

from patchseries import exceptions
from patchseries import target
from tests import base


@ddt.ddt
class TestShippedTargets(base.TestCase):
    """The data in nova_patch, cinder_patch and glance_patch is usable."""

    @ddt.data(*target.PROJECTS)
    def test_release_facts_are_complete(self, project):
        loaded = target.load_target(project)
        self.assertTrue(loaded.releases)
        for release in loaded.releases.values():
            self.assertRegex(release.version, r'^\d+\.\d+\.\d+$')
            self.assertRegex(release.sha256, r'^[0-9a-f]{64}$')
            self.assertTrue(os.path.isfile(release.constraints),
                            release.constraints)
            self.assertTrue(release.series_dir.startswith(
                loaded.package_dir))

    @ddt.data(*target.PROJECTS)
    def test_selection_names_project_modules(self, project):
        loaded = target.load_target(project)
        self.assertTrue(loaded.tests)
        for module, narrow in loaded.tests + loaded.series_tests:
            self.assertTrue(module.startswith(project + '.tests.'), module)
            if narrow:
                re.compile(narrow)

    def test_glance_features_name_commits_of_the_newest_series(self):
        loaded = target.load_target('glance')
        self.assertIn('colocation', loaded.features)
        self.assertEqual(frozenset(), loaded.release().missing_features())

    def test_only_2026_2_has_the_direct_copy(self):
        # Glance commit 11 (copy-image without staging) is in the 2026.2
        # series only; the scenario table expects the staged copy of the
        # others.
        loaded = target.load_target('glance')
        for name, release in loaded.releases.items():
            self.assertEqual(name != '2026.2',
                             'direct_copy' in release.missing_features(),
                             name)

    @ddt.data(*target.PROJECTS)
    def test_constraints_do_not_pin_the_project(self, project):
        loaded = target.load_target(project)
        for release in loaded.releases.values():
            with open(release.constraints) as f:
                pins = [line.strip() for line in f
                        if '==' in line and not line.startswith('#')]
            names = [pin.split('==')[0].lower() for pin in pins]
            self.assertNotIn(loaded.pypi_name, names)
            # NOTE: upstream's upper-constraints pins a package once per
            # environment marker (numpy===1.24.4;python_version=='3.8'):
            # a name may repeat, a name and marker may not.
            keyed = [(name, pin.partition(';')[2].replace(' ', ''))
                     for name, pin in zip(names, pins)]
            self.assertEqual(len(keyed), len(set(keyed)), release.name)

    def test_nova_keeps_sqlalchemy_below_2_1(self):
        release = target.load_target('nova').release('2026.2')
        with open(release.constraints) as f:
            pins = dict(line.strip().split('==') for line in f
                        if '==' in line and not line.startswith('#'))
        self.assertTrue(pins['sqlalchemy'].startswith('2.0.'))

    def test_unknown_project_lists_known_ones(self):
        exc = self.assertRaises(exceptions.UnknownProject,
                                target.load_target, 'keystone')
        self.assertIn("'keystone'", str(exc))
        self.assertIn('nova, cinder, glance', str(exc))


@ddt.ddt
class TestReleases(base.TestCase):

    def setUp(self):
        super().setUp()
        self.target = base.make_target(self.tmp, {
            '2026.1': ('33.0.0', 'a' * 64),
            '2026.2': ('34.0.0', 'b' * 64),
        })

    def test_newest_release_is_the_default(self):
        self.assertEqual('2026.2', self.target.release().name)

    @ddt.data('2026.1', '33.0.0')
    def test_release_by_name_or_version(self, name):
        self.assertEqual('2026.1', self.target.release(name).name)

    @ddt.data(('34.0.0', '2026.2'), ('34.0.1', '2026.2'),
              ('33.1.0.dev4', '2026.1'))
    @ddt.unpack
    def test_release_for_version(self, version, expected):
        self.assertEqual(expected,
                         self.target.release_for_version(version).name)

    def test_unknown_release_lists_known_ones(self):
        exc = self.assertRaises(exceptions.UnknownRelease,
                                self.target.release, '2030.1')
        self.assertIn("release '2030.1'", str(exc))
        self.assertIn('2026.1 (toy 33.0.0), 2026.2 (toy 34.0.0)', str(exc))
