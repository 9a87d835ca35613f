"""Targets: what a ``<project>_patch`` package says about its upstream.

A :class:`Target` is one project (nova, cinder, glance) and a
:class:`Release` one pinned upstream release of it with its series. Both
are read from the data module; nothing here knows a project by name.
"""

import importlib
import os
import re

from patchseries import exceptions
from patchseries import series as series_mod

PROJECTS = ('nova', 'cinder', 'glance')


# What a release's facts may set for itself, over the target's own.
RELEASE_OVERRIDES = ('extra_packages', 'tests', 'series_tests',
                     'functional_tests', 'functional_series_tests')


class Release(object):
    """One release of a target: ``2026.2`` -> nova ``34.0.0``.

    A release takes the target's extra packages and test selection unless
    its facts name their own (an older release may lack a test module,
    or need another extra package).
    """

    def __init__(self, target, name, facts):
        self.target = target
        self.name = name
        self.version = facts['version']
        self.sha256 = facts['sha256']
        for attr in RELEASE_OVERRIDES:
            setattr(self, attr,
                    tuple(facts.get(attr, getattr(target, attr))))
        self.series_dir = os.path.join(
            target.package_dir, facts.get('series', 'series'))
        constraints = facts.get('constraints')
        self.constraints = (os.path.join(target.package_dir, constraints)
                            if constraints else None)

    def selections(self, patched):
        """What one side runs: ``[(name, test path, tests)]``.

        ``tests`` are ``(module or package, narrowing regex or None)``
        pairs, as the facts give them.

        :param patched: also select the tests the series adds.
        """
        target = self.target
        runs = [('', target.test_path, self.tests, self.series_tests)]
        if target.functional_test_path:
            runs.append(('functional', target.functional_test_path,
                         self.functional_tests, self.functional_series_tests))
        selected = []
        for name, test_path, tests, series_tests in runs:
            tests = tests + (series_tests if patched else ())
            if tests:
                selected.append((name, test_path, tests))
        return selected

    def selection_for(self, module):
        """Where the patched side runs test ``module``, if it does.

        A selection may name the module or a package above it; the
        closest name wins.

        :returns: ``(selection name, test path, narrowing regex or
            None)``, or None when no selection runs the module.
        """
        target = self.target
        runs = [('', target.test_path, self.tests + self.series_tests),
                ('functional', target.functional_test_path,
                 self.functional_tests + self.functional_series_tests)]
        found = None
        for name, test_path, tests in runs:
            for selected, narrow in tests:
                if module != selected and not module.startswith(
                        selected + '.'):
                    continue
                if found is None or len(selected) > found[0]:
                    found = (len(selected), (name, test_path, narrow))
        return found[1] if found else None

    def missing_features(self):
        """Features of the target (``FEATURES``) this release's series lacks.

        A feature is the Change-Id of the commit that brings it; a
        backport that stops before that commit does not have it.
        """
        present = set(change for patch in
                      series_mod.Series(self.series_dir).patches
                      for change in patch.change_ids)
        return frozenset(name for name, change in
                         self.target.features.items()
                         if change not in present)

    @property
    def label(self):
        """``nova-34.0.0``: names trees, branches and venvs."""
        return '%s-%s' % (self.target.name, self.version)

    def __repr__(self):
        return '<Release %s %s>' % (self.name, self.label)


class Target(object):
    """What we know of one upstream project.

    :param name: the project (``nova``).
    :param data: the data module or any object with its attributes.
    :param package_dir: the folder holding ``series/`` and constraints.
    """

    def __init__(self, name, data, package_dir):
        self.name = name
        self.package_dir = package_dir
        self.pypi_name = data.PYPI_NAME
        self.extras = tuple(getattr(data, 'EXTRAS', ()))
        self.extra_packages = tuple(getattr(data, 'EXTRA_PACKAGES', ()))
        self.test_env = dict(getattr(data, 'TEST_ENV', {}))
        self.required_commands = dict(getattr(data, 'REQUIRED_COMMANDS', {}))
        self.resolve_localhost_fqdn = bool(
            getattr(data, 'RESOLVE_LOCALHOST_FQDN', False))
        self.test_path = getattr(data, 'TEST_PATH', None)
        self.tests = tuple(getattr(data, 'TESTS', ()))
        self.series_tests = tuple(getattr(data, 'SERIES_TESTS', ()))
        # NOTE: some projects run their functional tests apart, from a
        # test path of their own (nova's [testenv:functional]).
        self.functional_test_path = getattr(data, 'FUNCTIONAL_TEST_PATH',
                                            None)
        self.functional_tests = tuple(getattr(data, 'FUNCTIONAL_TESTS', ()))
        self.functional_series_tests = tuple(
            getattr(data, 'FUNCTIONAL_SERIES_TESTS', ()))
        self.features = dict(getattr(data, 'FEATURES', {}))
        self.releases = dict(
            (name_, Release(self, name_, facts))
            for name_, facts in data.RELEASES.items())

    def release(self, name=None):
        """The release called ``name``; the newest when ``name`` is None."""
        if name is None:
            return self.releases[max(self.releases, key=_release_key)]
        if name in self.releases:
            return self.releases[name]
        for release in self.releases.values():
            if name == release.version:
                return release
        raise exceptions.UnknownRelease(self.name, 'release %r' % name,
                                        self.known())

    def release_for_version(self, version):
        """The release whose series fits an installed ``version``.

        An exact match wins. Otherwise a version of the same major
        (34.0.1, 34.1.0.dev3) takes that release's series: OpenStack
        gives each release series its own major version.
        """
        for release in self.releases.values():
            if release.version == version:
                return release
        major = version.split('.', 1)[0]
        for release in self.releases.values():
            if release.version.split('.', 1)[0] == major:
                return release
        raise exceptions.UnknownRelease(
            self.name, 'version %s' % version, self.known())

    def known(self):
        return sorted(((r.name, '%s %s' % (self.name, r.version))
                       for r in self.releases.values()),
                      key=lambda pair: _release_key(pair[0]))


def _release_key(name):
    return tuple(int(part) if part.isdigit() else 0
                 for part in re.split(r'[.-]', name))


def load_target(project):
    """Load the target of ``project`` from its ``<project>_patch`` package."""
    if project not in PROJECTS:
        raise exceptions.UnknownProject(project, PROJECTS)
    module = importlib.import_module('%s_patch' % project)
    return Target(project, module,
                  os.path.dirname(os.path.abspath(module.__file__)))


def test_module(path):
    """The dotted name of the test module at ``path``, or None.

    >>> test_module('nova/tests/unit/compute/test_api.py')
    'nova.tests.unit.compute.test_api'
    >>> test_module('nova/tests/fixtures/glance.py') is None
    True
    """
    name = path.rsplit('/', 1)[-1]
    if not (name.startswith('test_') and name.endswith('.py')):
        return None
    return path[:-len('.py')].replace('/', '.')
