"""The scenario table as ``verify`` ends with it.

It runs the rows of :mod:`patchseries.scenarios` with the Nova and Cinder
client code of the trees ``verify`` built, against the fake Glance and
against the real Glance of the glance tree, twice: on the upstream
trees ("before") and with every series applied ("after"). Expectations
follow from which series are applied, so a row is green when the code
does what its state promises; a fake that answers differently from the
real Glance turns the row red.
"""

from concurrent import futures
import contextlib
import logging
import os

from patchseries.fakeglance import fixture as fake_fixture
from patchseries import git
from patchseries import realglance
from patchseries import scenarios
from patchseries import tree as tree_mod

LOG = logging.getLogger(__name__)


class Side(object):
    """What the table knows of one verified project."""

    def __init__(self, release, tree_path, bin_dir, patched):
        self.release = release
        self.tree_path = tree_path
        self.bin_dir = bin_dir
        self.patched = patched

    @property
    def python(self):
        return os.path.join(self.bin_dir, 'python')


@contextlib.contextmanager
def upstream_checkout(sides, keep=()):
    """Check every patched tree out at its upstream branch, then back.

    :param keep: projects whose trees stay patched.
    """
    moved = []
    try:
        for name, side in sides.items():
            if side.patched and name not in keep:
                repo = git.Repo(side.tree_path)
                branch = repo.branch()
                repo.run('checkout', '--quiet',
                         tree_mod.upstream_branch(side.release.label))
                moved.append((repo, branch))
        yield
    finally:
        for repo, branch in moved:
            repo.run('checkout', '--quiet', branch)


def _by_parallel_stores(rows):
    """``[(max_parallel_stores, rows)]``: each needs a Glance of its own."""
    groups = {}
    for row in rows:
        groups.setdefault(row.parallel_stores, []).append(row)
    return sorted(groups.items())


def _fake_column(state, rows, envs):
    results = {}
    for parallel, group in _by_parallel_stores(rows):
        results.update(_fake_glance_rows(state, group, envs, parallel))
    return results


def _fake_glance_rows(state, rows, envs, parallel_stores):
    # NOTE: the fake does what the release's glance series does: an
    # older release whose series stops early lacks some of its features.
    fake = fake_fixture.FakeGlanceFixture(
        base_image_ref_support=bool(state.get('glance', False)),
        colocation=scenarios.has(state, 'glance', 'colocation'),
        base_ref_property=scenarios.has(state, 'glance',
                                        'base_ref_property'),
        colocate_policy=scenarios.has(state, 'glance', 'colocate_policy'),
        parallel_stores=parallel_stores,
        direct_copy=scenarios.has(state, 'glance', 'direct_copy'))
    fake.setUp()
    try:
        return scenarios.run_rows(
            scenarios.Glance('fake', fake.url, recorder=fake.recorder,
                             faults=fake.faults, images=fake.images,
                             set_policy=fake.app.set_policy,
                             staging_dir=fake.images.staging_dir,
                             direct_copies=fake.app.direct_copies.get,
                             parallel_stores=parallel_stores),
            rows, envs)
    finally:
        fake.cleanUp()


def _real_column(rows, envs, glance_side, work_dir):
    results = {}
    for parallel, group in _by_parallel_stores(rows):
        options = {}
        if parallel != 1:
            options['parallel_stores'] = parallel
        with realglance.serving(glance_side.bin_dir, work_dir,
                                **options) as server:
            results.update(scenarios.run_rows(
                scenarios.Glance('real', server.url,
                                 set_policy=server.set_policy,
                                 staging_dir=server.store_dir('staging'),
                                 direct_copies=server.direct_copies,
                                 parallel_stores=parallel),
                group, envs))
    return results


def _columns(state, rows, envs, glance_side, work_dir, concurrent=True):
    """The fake column and, with a glance side, the real one.

    The two columns share nothing (each has its own Glance, images and
    driver processes), so by default they run at the same time: the fake
    in this thread, the real Glance's in another.
    """
    if glance_side is None:
        return [('fake', _fake_column(state, rows, envs))]
    if not concurrent:
        return [('fake', _fake_column(state, rows, envs)),
                ('real', _real_column(rows, envs, glance_side, work_dir))]
    with futures.ThreadPoolExecutor(max_workers=1) as pool:
        real = pool.submit(_real_column, rows, envs, glance_side, work_dir)
        fake = _fake_column(state, rows, envs)
        return [('fake', fake), ('real', real.result())]


def run_table(sides, work_dir, release=None, concurrent=True):
    """Run the table before and after the series, on one release.

    :param sides: ``{project: Side}`` of the projects verified on that
        release: their trees and environments run the rows.
    :param release: the release name, for rows that expect something
        else on an older release (None: no such difference).
    :param concurrent: run the fake and real columns at the same time.
    :returns: ``(text, failed rows, skipped rows)``.
    """
    envs = dict((name, side.python) for name, side in sides.items())
    rows = list(scenarios.GLANCE_ROWS)
    skipped = []
    for row in scenarios.CLIENT_ROWS:
        missing = [p for p in row.needs if p not in sides]
        if missing:
            skipped.append('%s (not run: %s was not verified)'
                           % (row.name, ', '.join(missing)))
        else:
            rows.append(row)
    glance_side = sides.get('glance')
    if glance_side is None:
        skipped.append('real Glance column (not run: glance was not '
                       'verified)')
    texts, failures, done = [], 0, {}
    for title, keep, phase_rows in _phases(sides, rows):
        state = dict((name, _applied(side) if name in keep else False)
                     for name, side in sides.items())
        same = done.get(tuple(sorted(state.items())))
        if same is not None and set(phase_rows) <= set(same[1]):
            # NOTE: no series of this release changes the code (they
            # are empty), so the pass would run the very same code and
            # rows again.
            texts.append('-- %s: not run again, the code is that of '
                         '"%s" (no series of this release is applied)'
                         % (title, same[0]))
            continue
        done[tuple(sorted(state.items()))] = (title, phase_rows)
        LOG.info('scenario table%s, %s ...',
                 ' of %s' % release if release else '', title)
        with upstream_checkout(sides, keep=keep):
            columns = _columns(state, phase_rows, envs, glance_side,
                               work_dir, concurrent=concurrent)
        text, failed = scenarios.format_table(columns, state, phase_rows,
                                              release=release)
        texts.append('-- %s (%s)\n%s' % (
            title, ', '.join('%s %s' % (n, _said(s))
                             for n, s in sorted(state.items())), text))
        failures += failed
    return '\n\n'.join(texts), failures, skipped


def _said(applied):
    if not applied:
        return 'upstream'
    if isinstance(applied, scenarios.Partial):
        return 'patched (%r)' % applied
    return 'patched'


def _applied(side):
    """What ``state`` says of a side: False, True, or a partial series."""
    if not side.patched:
        return False
    missing = (side.release.missing_features() if side.release is not None
               else ())
    return scenarios.Partial(missing) if missing else True


GLANCE_ALONE = 'Glance series alone: Nova and Cinder as released'


def _phases(sides, rows):
    """``(title, projects kept patched, rows)`` of each pass.

    Before and after run every row. Where the glance series is applied
    and another project was verified, a third pass runs the rows marked
    ``glance_alone`` with only Glance patched: what an operator who
    upgrades Glance alone gets from the released Nova and Cinder.
    """
    patched = tuple(sorted(sides))
    phases = [('before: upstream releases', (), rows),
              ('after: series applied', patched, rows)]
    glance = sides.get('glance')
    alone = [row for row in rows if row.glance_alone]
    if glance is not None and glance.patched and len(sides) > 1 and alone:
        phases.append((GLANCE_ALONE, ('glance',), alone))
    return phases
