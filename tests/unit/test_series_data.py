"""The series files themselves follow the form upstream review expects.

Like ``reno lint`` for notes: the project's data is checked, not only
its code. Each commit is authored by the project, carries exactly one
stable Change-Id, unique in its series, cites no bug number we could
have made up, and says how it relates to its blueprint. A backport to
an older release is the same change as upstream's stable branches carry
it: same Change-Id and subject, in the same order, and the commit it
was cherry-picked from named on its last line; a prerequisite taken
from upstream keeps its upstream author.
"""

import fnmatch
import re

import ddt

from patchseries import git
from patchseries import series as series_mod
from patchseries import target as target_mod
from patchseries import tree
from tests import base

_PATCHES = [(project, release.name, patch)
            for project in target_mod.PROJECTS
            for release in target_mod.load_target(project).releases.values()
            for patch in series_mod.Series(release.series_dir).patches]

CHERRY_PICKED_RE = re.compile(r'^\(cherry picked from commit [0-9a-f]{40}\)$')


def _originals(project):
    """The newest release's series of ``project``, by Change-Id."""
    newest = target_mod.load_target(project).release()
    return dict((p.change_ids[0], p)
                for p in series_mod.Series(newest.series_dir).patches)


def _is_backport(project, release):
    return release != target_mod.load_target(project).release().name


def _backports():
    return [(project, release, patch) for project, release, patch in _PATCHES
            if _is_backport(project, release)]


@ddt.ddt
class TestSeriesForm(base.TestCase):

    def test_every_project_has_a_series(self):
        self.assertEqual(set(target_mod.PROJECTS),
                         set(project for project, _, _ in _PATCHES))

    @ddt.idata(_PATCHES)
    @ddt.unpack
    def test_commit_form(self, project, release, patch):
        prerequisite = (_is_backport(project, release) and
                        patch.change_ids[:1] and
                        patch.change_ids[0] not in _originals(project))
        if not prerequisite:
            self.assertEqual('%s <%s>' % git.IDENTITY, patch.author,
                             patch.name)
        self.assertEqual(1, len(patch.change_ids), patch.name)
        self.assertRegex(patch.change_ids[0], r'^I[0-9a-f]{40}$')
        self.assertLessEqual(len(patch.subject), 72, patch.name)
        if prerequisite:
            # NOTE: an upstream commit keeps its own bug trailers; ours
            # never cite a bug, as we could only make one up.
            return
        for trailer in ('Closes-Bug', 'Partial-Bug', 'Related-Bug'):
            self.assertNotIn(trailer + ':', patch.message, patch.name)

    @ddt.idata(_PATCHES)
    @ddt.unpack
    def test_no_test_run_litter(self, project, release, patch):
        # A log or an artefact of a test run committed by mistake with
        # ``git add -A`` in a tree where upstream's tests ran.
        litter = [path for path in patch.files
                  if fnmatch.fnmatch(path.rsplit('/', 1)[-1], '*.log') or
                  any(fnmatch.fnmatch(path, '*%s*' % pattern.rstrip('/'))
                      for pattern in tree.IGNORED)]
        self.assertEqual([], litter, patch.name)

    @ddt.idata(_backports())
    @ddt.unpack
    def test_backport_names_what_it_was_picked_from(self, project, release,
                                                    patch):
        last = patch.message.rstrip().splitlines()[-1]
        self.assertRegex(last, CHERRY_PICKED_RE, '%s %s: %s'
                         % (project, release, patch.name))
        original = _originals(project).get(patch.change_ids[0])
        if original is not None:
            self.assertEqual(original.subject, patch.subject, patch.name)
            for trailer in ('Implements', 'Partially-Implements',
                            'Depends-On', 'Signed-off-by'):
                self.assertEqual(
                    re.findall(r'^%s: .*$' % trailer, original.message, re.M),
                    re.findall(r'^%s: .*$' % trailer, patch.message, re.M),
                    '%s %s: %s' % (project, release, patch.name))

    def test_backports_keep_the_order_of_the_newest_series(self):
        for project in target_mod.PROJECTS:
            target = target_mod.load_target(project)
            order = list(_originals(project))
            for release in target.releases.values():
                if not _is_backport(project, release.name):
                    continue
                ids = [p.change_ids[0] for p in
                       series_mod.Series(release.series_dir).patches
                       if p.change_ids and p.change_ids[0] in order]
                self.assertEqual(sorted(ids, key=order.index), ids,
                                 '%s %s' % (project, release.name))

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
                for patch in series_mod.Series(release.series_dir).patches:
                    for path in patch.files:
                        module = target_mod.test_module(path)
                        if module is None:
                            continue
                        self.assertIsNotNone(
                            release.selection_for(module),
                            '%s changes %s, which verify does not run'
                            % (patch.name, path))
