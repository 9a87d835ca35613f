"""The ``patchseries`` command: argparse wiring only."""

import argparse
import logging
import os
import sys

from patchseries.bench import command as bench_command
from patchseries import commits
from patchseries import exceptions
from patchseries import pq
from patchseries import tree
from patchseries import verify

LOG = logging.getLogger(__name__)


def default_cache_dir():
    return os.environ.get('PATCHSERIES_CACHE_DIR') or os.path.join(
        os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'),
        'patchseries')


def build_parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        '--cache-dir', default=default_cache_dir(),
        help='sdists, trees, test environments and logs '
        '(default: $PATCHSERIES_CACHE_DIR or ~/.cache/patchseries)')
    common.add_argument('-v', '--verbose', action='store_true',
                        help='also show every git and uv command')
    # NOTE: the common options belong to the subcommands only; on both
    # levels, the subcommand's defaults would override a value given
    # before the subcommand name.
    parser = argparse.ArgumentParser(
        prog='patchseries',
        description='Apply, export and verify the Glance store affinity '
        'patch series on upstream releases.')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
    subparsers.required = True
    tree.add_parser(subparsers, common)
    pq.add_parsers(subparsers, common)
    verify.add_parser(subparsers, common)
    commits.add_parser(subparsers, common)
    bench_command.add_parser(subparsers, common)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format='%(asctime)s %(message)s', datefmt='%H:%M:%S',
        stream=sys.stderr)
    try:
        return args.func(args)
    except exceptions.PatchSeriesError as exc:
        print('patchseries: error: %s' % exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == '__main__':
    sys.exit(main())
