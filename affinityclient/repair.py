"""Copy misplaced images into the stores they miss.

Glance does the copying (the ``copy-image`` import method, admin-only by
default); we ask for it and watch the image until the copy has ended.
A location is removed only with ``move`` and only once the image is
active in every store it was wanted in. At most ``concurrency`` images
are in flight, and each event is written to the :mod:`state file
<affinityclient.state>` before the next step, so a run stopped at any
point can be run again.
"""

import collections
from concurrent import futures
import logging
import threading
import time

from openstack import exceptions as sdk_exc

from affinityclient import exceptions
from affinityclient import images
from affinityclient import state as state_mod

LOG = logging.getLogger(__name__)

COPIED = 'copied'
MOVED = 'moved'
SKIPPED = 'skipped'
FAILED = 'failed'
WOULD_COPY = 'would copy'
# Seconds to wait for Glance to release an image's import lock once no
# copy is pending.
LOCK_GRACE = 20.0


class Work(collections.namedtuple('Work', 'image size missing wanted')):
    """One image to repair: the few fields a repair needs of a finding."""

    @classmethod
    def from_finding(cls, finding):
        return cls(finding.image, finding.size, finding.missing,
                   finding.stores_wanted)


class Outcome(collections.namedtuple('Outcome',
                                     'image size result stores why')):
    """What became of one image; ``stores`` are those it was copied to."""


class Stopped(Exception):
    """The run is being stopped; the image is left as it is."""


def check_copy_image(image_proxy):
    """Raise unless this Glance offers the ``copy-image`` import method."""
    try:
        info = image_proxy.get_import_info()
    except sdk_exc.NotFoundException:
        raise exceptions.AffinityError(
            'this Glance has no interoperable image import '
            '(/v2/info/import answers 404), so it cannot copy images')
    methods = (info.import_methods or {}).get('value') or ()
    if 'copy-image' not in methods:
        raise exceptions.AffinityError(
            'this Glance does not offer the copy-image import method '
            '(enabled_import_methods: %s)' % (', '.join(methods) or 'none'))


class Repair(object):
    """A repair run.

    :param image_proxy: openstacksdk's image proxy.
    :param state: a :class:`~affinityclient.state.State`.
    :param concurrency: images in flight at most.
    :param move: remove the image from its stores that are not wanted,
        once it is verified active in all the wanted ones.
    :param dry_run: change nothing, write no state; say what would be done.
    :param limit: start at most this many copies in this run.
    :param progress: a :class:`~affinityclient.progress.Progress`, or None.
    :param poll: seconds between looks at an image being copied.
    :param timeout: seconds to wait for one image's copy.
    """

    def __init__(self, image_proxy, state, concurrency=4, move=False,
                 dry_run=False, limit=None, progress=None, poll=1.0,
                 timeout=600.0):
        if concurrency < 1:
            raise ValueError('concurrency must be at least 1')
        self.image_proxy = image_proxy
        self.state = state
        self.concurrency = concurrency
        self.move = move
        self.dry_run = dry_run
        self.limit = limit
        self.progress = progress
        self.poll = poll
        self.timeout = timeout
        self._stop = threading.Event()

    def run(self, work):
        """Yield an :class:`Outcome` per item of ``work``, as they end.

        :raises NotPermitted: when Glance refuses copy-image to the
            caller; nothing was copied then.
        """
        started = 0
        pool = futures.ThreadPoolExecutor(self.concurrency)
        pending = set()
        try:
            for item in work:
                event = self.state.event_of(item.image)
                if event and event['event'] == state_mod.DONE:
                    yield self._tell(Outcome(
                        item.image, item.size, SKIPPED, (),
                        'done in an earlier run (state file)'))
                    continue
                if self.limit is not None and started >= self.limit:
                    yield self._tell(Outcome(
                        item.image, item.size, SKIPPED, (),
                        'left for a later run (--limit %d)' % self.limit))
                    continue
                started += 1
                while len(pending) >= self.concurrency:
                    finished, pending = futures.wait(
                        pending, return_when=futures.FIRST_COMPLETED)
                    for outcome in self._results(finished):
                        yield outcome
                pending.add(pool.submit(self._one, item, event))
            while pending:
                finished, pending = futures.wait(
                    pending, return_when=futures.FIRST_COMPLETED)
                for outcome in self._results(finished):
                    yield outcome
        finally:
            # NOTE: on an interrupt the copies already asked for go on in
            # Glance; the state file says "started" and the next run
            # waits for them instead of asking twice.
            self._stop.set()
            pool.shutdown(wait=True, cancel_futures=True)

    def _results(self, finished):
        for future in finished:
            yield self._tell(future.result())

    def _tell(self, outcome):
        if self.progress is not None:
            self.progress.step(outcome)
        return outcome

    # One image -----------------------------------------------------------

    def _one(self, item, event):
        if self.dry_run:
            return Outcome(item.image, item.size, WOULD_COPY, item.missing,
                           'dry run: nothing changed')
        try:
            return self._repair(item, event)
        except Stopped:
            return Outcome(item.image, item.size, SKIPPED, (),
                           'run stopped before this image was finished')

    def _fetch(self, image_id):
        try:
            return self.image_proxy.get_image(image_id)
        except sdk_exc.NotFoundException:
            return None

    def _repair(self, item, event):
        image = self._fetch(item.image)
        if image is None:
            return Outcome(item.image, item.size, SKIPPED, (),
                           'image deleted meanwhile')
        now = images.stores_of(image)
        missing = tuple(s for s in item.missing if s not in now)
        copying = set(images.importing_to(image)) & set(missing)
        if copying and event and event['event'] == state_mod.STARTED:
            LOG.debug('%s: waiting for the copy an earlier run started',
                      item.image)
        elif copying:
            return Outcome(item.image, item.size, SKIPPED, (),
                           'another copy into %s is in progress'
                           % ', '.join(sorted(copying)))
        elif missing:
            self.state.record(item.image, state_mod.STARTED, missing)
            failure = self._ask_copy(image, missing)
            if failure:
                self.state.record(item.image, state_mod.FAILED, missing,
                                  failure)
                return Outcome(item.image, item.size, FAILED, (), failure)
        if missing:
            image, failure = self._wait(item.image, missing)
            if failure:
                self.state.record(item.image, state_mod.FAILED, missing,
                                  failure)
                return Outcome(item.image, item.size, FAILED, (), failure)
        result, why = COPIED, 'copied into %s' % ', '.join(missing)
        if not missing:
            result, why = SKIPPED, 'already in %s' % ', '.join(item.missing)
        if self.move:
            moved, failure = self._move(image, item.wanted)
            if failure:
                self.state.record(item.image, state_mod.FAILED, missing,
                                  failure)
                return Outcome(item.image, item.size, FAILED, missing,
                               failure)
            if moved:
                result = MOVED
                why += '; removed from %s' % ', '.join(moved)
        self.state.record(item.image, state_mod.DONE, missing, why)
        return Outcome(item.image, item.size, result, missing, why)

    def _ask_copy(self, image, missing):
        """Ask Glance for the copy; an error text, or None."""
        try:
            # NOTE: the proxy hands back the raw response of the import
            # call without raising for its status; raise as it would.
            sdk_exc.raise_from_response(self.image_proxy.import_image(
                image, method='copy-image', stores=list(missing),
                all_stores_must_succeed=False))
        except sdk_exc.ForbiddenException as exc:
            self._stop.set()
            self.state.record(image.id, state_mod.FAILED, missing,
                              'copy-image refused (403)')
            raise exceptions.NotPermitted(
                'Glance refused copy-image for image %s: %s (the '
                'copy_image policy is admin-only by default)'
                % (image.id, _detail(exc)))
        except sdk_exc.HttpException as exc:
            return 'Glance refused the copy: %s' % _detail(exc)
        return None

    def _wait(self, image_id, missing):
        """Wait for the copies; ``(image, error text or None)``."""
        deadline = time.monotonic() + self.timeout
        lock_deadline = time.monotonic() + LOCK_GRACE
        image = None
        while True:
            image = self._fetch(image_id)
            if image is None:
                return None, 'image deleted while it was copied'
            busy = set(images.importing_to(image)) & set(missing)
            # NOTE: the copy is over when Glance also released the
            # image's import lock (a --move or the next copy before that
            # is refused with 409); but a task that died keeps its lock
            # until Glance busts it, so the lock is waited for a little.
            if not busy and (not images.import_locked(image) or
                             time.monotonic() >= lock_deadline):
                break
            if busy:
                lock_deadline = time.monotonic() + LOCK_GRACE
            if time.monotonic() >= deadline:
                return image, ('still copying into %s after %ds; run again '
                               'to wait for it' % (
                                   ', '.join(sorted(busy)) or 'its stores',
                                   self.timeout))
            if self._stop.wait(self.poll):
                raise Stopped()
        now = images.stores_of(image)
        lost = [s for s in missing if s not in now]
        if lost:
            failed = set(images.failed_into(image))
            return image, 'Glance could not copy into %s%s' % (
                ', '.join(lost), ' (os_glance_failed_import)'
                if failed & set(lost) else '')
        return image, None

    def _move(self, image, wanted):
        """Remove the locations that are not wanted, once it is safe."""
        now = images.stores_of(image)
        if image.status != 'active' or any(s not in now for s in wanted):
            return (), ('not moved: the image is not active in all of %s'
                        % ', '.join(wanted))
        extra = [s for s in now if s not in wanted]
        removed = []
        for store_id in extra:
            try:
                self.image_proxy.delete_image(image, store=store_id,
                                              ignore_missing=False)
            except sdk_exc.HttpException as exc:
                return tuple(removed), ('copied, but not removed from %s: '
                                        '%s' % (store_id, _detail(exc)))
            removed.append(store_id)
        return tuple(removed), None


def _detail(exc):
    text = (getattr(exc, 'details', None) or str(exc) or '').strip()
    return ' '.join(text.split())[:300]
