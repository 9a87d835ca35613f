"""``openstack image affinity audit``."""

import logging

from osc_lib.command import command

from affinityclient import audit
from affinityclient.osc.v1 import common
from affinityclient import summary as summary_mod

LOG = logging.getLogger(__name__)

COLUMNS = ('Image', 'Base', 'Size', 'Stores Now', 'Stores Wanted',
           'Reason')
LONG_COLUMNS = COLUMNS + ('Name', 'Project', 'Type')
SUMMARY_COLUMNS = ('From Stores', 'To Store', 'Images', 'GiB')


class Audit(command.Lister):
    """List images that are not in the stores of their base image.

    An image names its base in the ``base_image_ref`` property (Nova
    snapshots and backups) or, for a Cinder upload, in ``image_id`` where
    Cinder recorded it. It is misplaced when it is not in every writable
    store of its base. Images whose base cannot be judged are listed
    with the reason and no wanted stores.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        common.add_filter_arguments(parser)
        parser.add_argument(
            '--long', action='store_true',
            help='Also show the name, project and type of each image')
        parser.add_argument(
            '--summary', action='store_true',
            help='Show images and GiB per move (from stores, to store) '
                 'instead of one row per image')
        return parser

    def take_action(self, parsed_args):
        conn = self.app.client_manager.image_affinity
        with common.command_errors():
            stores = common.stores_for(conn, parsed_args)
            filters = common.filters_from(parsed_args, conn)
            findings = audit.audit(conn.image, stores, filters,
                                   only_store=parsed_args.store)
            if parsed_args.summary:
                total = summary_mod.Summary()
                for finding in findings:
                    total.add(finding)
                return SUMMARY_COLUMNS, total.rows()
            # NOTE: rows are made as the images are paged through; the
            # csv and value formats print them as they come.
            if parsed_args.long:
                return LONG_COLUMNS, (_row(f) + (f.name, f.owner, f.kind)
                                      for f in findings)
            return COLUMNS, (_row(f) for f in findings)


def _row(finding):
    return (finding.image, finding.base, finding.size,
            common.stores_text(finding.stores_now),
            common.stores_text(finding.stores_wanted), finding.reason)
