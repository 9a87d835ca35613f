"""The state file that makes a repair resumable.

One JSON object per line, appended as things happen, so a run killed at
any moment leaves a readable file: a header naming the Glance endpoint,
then ``started``, ``done`` or ``failed`` events per image. A rerun skips
the images done, waits for the copies started (instead of asking Glance
for a second copy) and tries the failed ones again.
"""

import hashlib
import json
import os
import threading

from affinityclient import exceptions

STARTED = 'started'
DONE = 'done'
FAILED = 'failed'


def default_path(endpoint):
    """Where the state of a repair against ``endpoint`` lives by default.

    Under ``$XDG_CACHE_HOME`` (``~/.cache``), one file per Glance.
    """
    cache = os.environ.get('XDG_CACHE_HOME') or os.path.join(
        os.path.expanduser('~'), '.cache')
    digest = hashlib.sha256(endpoint.encode('utf-8')).hexdigest()[:12]
    return os.path.join(cache, 'openstack-image-affinity',
                        'repair-%s.jsonl' % digest)


class State(object):
    """The events of earlier runs, and the writer of this run's.

    :param path: the state file; created when missing.
    :param endpoint: the image endpoint of this run; a file of another
        Glance is refused rather than mixed up.
    """

    def __init__(self, path, endpoint):
        self.path = path
        self.endpoint = endpoint
        self.last = {}
        self._lock = threading.Lock()
        self._load()

    def _load(self):
        try:
            f = open(self.path)
        except FileNotFoundError:
            return
        with f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    if line.endswith('\n'):
                        raise exceptions.StateError(
                            '%s line %d is not JSON; move the file away '
                            'to start afresh' % (self.path, number))
                    # NOTE: a run killed mid-write leaves a partial last
                    # line; what it would have said is redone.
                    continue
                if 'glance' in event:
                    if event['glance'] != self.endpoint:
                        raise exceptions.StateError(
                            '%s is the state of a repair of %s, not of %s'
                            % (self.path, event['glance'], self.endpoint))
                    continue
                self.last[event['image']] = event

    def event_of(self, image_id):
        """The last event of an image in earlier runs, or None."""
        return self.last.get(image_id)

    def record(self, image_id, event, stores=(), why=''):
        entry = {'image': image_id, 'event': event, 'stores': list(stores)}
        if why:
            entry['why'] = why
        with self._lock:
            new = not os.path.exists(self.path)
            if new:
                os.makedirs(os.path.dirname(os.path.abspath(self.path)),
                            exist_ok=True)
            with open(self.path, 'a') as f:
                if new:
                    f.write(json.dumps({'glance': self.endpoint}) + '\n')
                f.write(json.dumps(entry, sort_keys=True) + '\n')
            self.last[image_id] = entry
