"""What can go wrong before anything is changed.

Each error names the thing that is wrong; the commands turn them into
osc-lib's :class:`~osc_lib.exceptions.CommandError`.
"""


class AffinityError(Exception):
    """Base of the errors of this package."""


class NotMultiStore(AffinityError):
    """Glance has no ``enabled_backends``: there is nothing to audit."""


class StoreError(AffinityError):
    """A store named on the command line is unknown or not writable."""


class NotPermitted(AffinityError):
    """Glance refused an operation to the caller (HTTP 403)."""


class StateError(AffinityError):
    """The state file cannot be used for this run."""
