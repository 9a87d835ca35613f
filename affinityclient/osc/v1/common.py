"""What ``audit`` and ``repair`` share: filters, stores, errors."""

import contextlib
import datetime
import re

from osc_lib import exceptions as osc_exc

from affinityclient import exceptions
from affinityclient import images
from affinityclient import stores as stores_mod

_AGE_RE = re.compile(r'^(\d+)([smhdw]?)$')
_UNITS = {'s': 'seconds', 'm': 'minutes', 'h': 'hours', '': 'days',
          'd': 'days', 'w': 'weeks'}


def age(text):
    """``30``, ``30d``, ``12h``, ``2w`` ... -> ``datetime.timedelta``.

    >>> age('2w')
    datetime.timedelta(days=14)
    """
    match = _AGE_RE.match(text.strip())
    if not match:
        raise ValueError('%r is not an age: use a number of days, or '
                         'a number followed by s, m, h, d or w' % text)
    return datetime.timedelta(**{_UNITS[match.group(2)]:
                                 int(match.group(1))})


def add_filter_arguments(parser):
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        '--project', metavar='<project-id>',
        help='Only images owned by this project')
    scope.add_argument(
        '--all-projects', action='store_true',
        help='Images of every project (admin); by default only those '
             'of the current project')
    parser.add_argument(
        '--store', metavar='<store>',
        help='Only images missing from this store (it must be writable)')
    parser.add_argument(
        '--image-type', metavar='<type>', action='append',
        choices=images.KINDS, default=[],
        help='Only images of this kind: snapshot or backup (Nova), '
             'volume (a Cinder upload that records its source image); '
             'repeat for several')
    parser.add_argument(
        '--older-than', metavar='<age>', type=age,
        help='Only images created longer ago than this (days, or a '
             'number with s, m, h, d or w)')
    parser.add_argument(
        '--newer-than', metavar='<age>', type=age,
        help='Only images created more recently than this')
    return parser


def filters_from(parsed_args, conn):
    """The :class:`images.Filters` of the parsed arguments."""
    owner = parsed_args.project
    if owner is None and not parsed_args.all_projects:
        # NOTE: None with a token that names no project (admin_token):
        # then Glance's own visibility rules decide what is listed.
        owner = conn.current_project_id
    return images.Filters(owner=owner, kinds=parsed_args.image_type,
                          older_than=parsed_args.older_than,
                          newer_than=parsed_args.newer_than)


def stores_for(conn, parsed_args):
    """The stores of the cloud, with ``--store`` checked against them."""
    found = stores_mod.load_stores(conn.image)
    if parsed_args.store:
        found.check_target(parsed_args.store)
    return found


@contextlib.contextmanager
def command_errors():
    """Our errors as osc-lib's CommandError: a message, exit code 1."""
    try:
        yield
    except exceptions.AffinityError as exc:
        raise osc_exc.CommandError(str(exc))


def stores_text(stores):
    return ','.join(stores)
