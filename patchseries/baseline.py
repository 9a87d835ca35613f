"""The unpatched baseline of a release, kept from one run to the next.

Upstream's tests on an unpatched release give the same verdicts as long
as nothing that decides them changes: the sdist, the test environment
(whose key covers Python, the requirements and our constraints), the
selection and the environment variables of the run. ``verify`` keeps
each clean baseline under a key made of exactly those and reuses it
rather than running the same tests again; the report says so.
"""

import datetime
import hashlib
import json
import logging
import os
import shutil

from patchseries import testrun

LOG = logging.getLogger(__name__)

# Bump when what a baseline records, or how its key is made, changes.
# 2: selections are (module, regex) pairs; a listed test no worker ran
# is a failure (testrun.run_selection).
LAYOUT = 2


def baseline_key(release, env_key, selections, test_env, notes=()):
    """A digest of everything that decides the unpatched verdicts.

    :param selections: ``[(name, test path, regexes)]`` as
        :meth:`patchseries.target.Target.selections` gives them.

    >>> class R(object):
    ...     sha256 = 'ab' * 32
    >>> one = [('', './t', ['^t\\\\.'])]
    >>> a = baseline_key(R, 'env1', one, {'A': '1'})
    >>> a == baseline_key(R, 'env1', [('', './t', ['^t\\\\.'])], {'A': '1'})
    True
    >>> a == baseline_key(R, 'env2', one, {'A': '1'})
    False
    >>> a == baseline_key(R, 'env1', one + [('f', './f', ['^f'])], {'A': '1'})
    False
    """
    facts = {'layout': LAYOUT, 'sdist': release.sha256, 'env': env_key,
             'selections': [list(s) for s in selections],
             'test_env': dict(test_env), 'notes': sorted(notes)}
    return hashlib.sha256(
        json.dumps(facts, sort_keys=True).encode('utf-8')).hexdigest()[:16]


def _paths(cache_dir, label, key):
    stem = os.path.join(cache_dir, 'baselines', '%s-%s' % (label, key))
    return stem + '.json', stem + '.log'


def load_baseline(cache_dir, label, key):
    """The cached baseline under ``key``, or None.

    :returns: ``(Results, when it was run as ISO 8601 text)`` or None.
    """
    record_path, log_path = _paths(cache_dir, label, key)
    try:
        with open(record_path) as f:
            record = json.load(f)
        statuses = record['statuses']
        when = record['when']
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if os.path.exists(record_path):
            LOG.warning('%s: ignoring the unreadable baseline %s (%s)',
                        label, record_path, exc)
        return None
    if not isinstance(statuses, dict) or not statuses:
        return None
    results = testrun.Results(
        statuses, log_path if os.path.exists(log_path) else None,
        record.get('seconds', 0.0), record.get('test_seconds', 0.0))
    return results, when


def save_baseline(cache_dir, label, key, results):
    """Keep a clean baseline; one with failures is never reused.

    :returns: True when it was kept.
    """
    if results.failed:
        LOG.info('%s: not keeping a baseline with %d failure(s)',
                 label, results.failed)
        return False
    record_path, log_path = _paths(cache_dir, label, key)
    os.makedirs(os.path.dirname(record_path), exist_ok=True)
    # NOTE: a side of several runs names several logs; only one is kept.
    if results.log_path and os.path.exists(results.log_path):
        shutil.copyfile(results.log_path, log_path)
    record = {'statuses': results.statuses, 'seconds': results.seconds,
              'test_seconds': results.test_seconds,
              'when': datetime.datetime.now(datetime.timezone.utc)
              .strftime('%Y-%m-%d %H:%M UTC')}
    # Write beside, then rename: a run stopped half-way leaves no record
    # that a later run would trust.
    with open(record_path + '.tmp', 'w') as f:
        json.dump(record, f, sort_keys=True)
    os.replace(record_path + '.tmp', record_path)
    return True
