"""The series files themselves follow the form upstream review expects.

Like ``reno lint`` for notes: the project's data is checked, not only
its code. Each commit is authored by the project, carries exactly one
stable Change-Id, unique in its series, cites no bug number we could
have made up, and says how it relates to its blueprint.
"""

import re

import ddt

from patchseries import git
from patchseries import series as series_mod
from patchseries import target as target_mod
from tests import base

_PATCHES = [(project, release.name, patch)
            for project in target_mod.PROJECTS
            for release in target_mod.load_target(project).releases.values()
            for patch in series_mod.Series(release.series_dir).patches]


@ddt.ddt
class TestSeriesForm(base.TestCase):

    def test_every_project_has_a_series(self):
        self.assertEqual(set(target_mod.PROJECTS),
                         set(project for project, _, _ in _PATCHES))

    @ddt.idata(_PATCHES)
    @ddt.unpack
    def test_commit_form(self, project, release, patch):
        self.assertEqual('%s <%s>' % git.IDENTITY, patch.author, patch.name)
        self.assertEqual(1, len(patch.change_ids), patch.name)
        self.assertRegex(patch.change_ids[0], r'^I[0-9a-f]{40}$')
        self.assertLessEqual(len(patch.subject), 72, patch.name)
        for trailer in ('Closes-Bug', 'Partial-Bug', 'Related-Bug'):
            self.assertNotIn(trailer + ':', patch.message, patch.name)

    def test_change_ids_are_unique_within_a_series(self):
        seen = {}
        for project, release, patch in _PATCHES:
            key = (project, release, patch.change_ids[0])
            self.assertNotIn(key, seen, '%s and %s share a Change-Id'
                             % (seen.get(key), patch.name))
            seen[key] = patch.name

    def test_only_the_last_commit_of_a_blueprint_implements_it(self):
        for project in target_mod.PROJECTS:
            for release in target_mod.load_target(project).releases.values():
                patches = series_mod.Series(release.series_dir).patches
                marks = [re.findall(r'^(Partially-Implements|Implements): '
                                    r'blueprint (\S+)$', p.message, re.M)
                         for p in patches]
                blueprints = set(bp for m in marks for _, bp in m)
                for blueprint in blueprints:
                    kinds = [kind for m in marks for kind, bp in m
                             if bp == blueprint]
                    self.assertEqual('Implements', kinds[-1],
                                     '%s: %s' % (project, blueprint))
                    self.assertNotIn('Implements', kinds[:-1],
                                     '%s: %s' % (project, blueprint))

    def test_every_test_module_a_series_touches_is_run(self):
        for project in target_mod.PROJECTS:
            target = target_mod.load_target(project)
            for release in target.releases.values():
                selected = set(module for module, _ in
                               release.tests + release.series_tests +
                               release.functional_tests +
                               release.functional_series_tests)
                for patch in series_mod.Series(release.series_dir).patches:
                    for path in patch.files:
                        name = path.rsplit('/', 1)[-1]
                        if not (name.startswith('test_') and
                                name.endswith('.py')):
                            continue
                        module = path[:-3].replace('/', '.')
                        # A selection may name a whole package.
                        covered = [s for s in selected
                                   if module == s or
                                   module.startswith(s + '.')]
                        self.assertTrue(covered, '%s changes %s, which '
                                        'verify does not run'
                                        % (patch.name, path))
