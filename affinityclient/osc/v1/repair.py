"""``openstack image affinity repair``."""

import logging
import sys

from osc_lib.command import command

from affinityclient import audit
from affinityclient import exceptions
from affinityclient.osc.v1 import common
from affinityclient import progress as progress_mod
from affinityclient import repair as repair_mod
from affinityclient import state as state_mod

LOG = logging.getLogger(__name__)

COLUMNS = ('Image', 'Result', 'Stores', 'Why')


class Repair(command.Lister):
    """Copy misplaced images into the stores of their base image.

    Uses Glance's copy-image import (admin-only by default). A location
    is removed only with --move, once the image is active in every
    wanted store. The state file records each image as it is started,
    done or failed: run the same command again to continue an
    interrupted repair. Exits 1 when an image failed.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        common.add_filter_arguments(parser)
        parser.add_argument(
            '--dry-run', action='store_true',
            help='Say what would be copied; change nothing')
        parser.add_argument(
            '--move', action='store_true',
            help='After a verified copy, remove the image from its stores '
                 'that its base is not in')
        parser.add_argument(
            '--concurrency', metavar='<n>', type=int, default=4,
            help='Images copied at the same time (default 4)')
        parser.add_argument(
            '--limit', metavar='<n>', type=int,
            help='Start at most this many copies in this run')
        parser.add_argument(
            '--state', metavar='<file>',
            help='State file of the repair (default: one per Glance '
                 'endpoint under ~/.cache/openstack-image-affinity)')
        parser.add_argument(
            '--timeout', metavar='<seconds>', type=float, default=3600.0,
            help='Give up waiting for one image after this long '
                 '(default 3600)')
        parser.add_argument(
            '--poll', metavar='<seconds>', type=float, default=2.0,
            help='Seconds between looks at an image being copied '
                 '(default 2)')
        return parser

    failed = 0

    def run(self, parsed_args):
        # NOTE: the report is printed either way; a run with failures
        # exits 1 so that scripts notice.
        code = super().run(parsed_args)
        return code or (1 if self.failed else 0)

    def take_action(self, parsed_args):
        conn = self.app.client_manager.image_affinity
        with common.command_errors():
            if parsed_args.concurrency < 1:
                raise exceptions.AffinityError(
                    '--concurrency must be at least 1, not %d'
                    % parsed_args.concurrency)
            stores = common.stores_for(conn, parsed_args)
            repair_mod.check_copy_image(conn.image)
            endpoint = conn.image.get_endpoint()
            state = state_mod.State(
                parsed_args.state or state_mod.default_path(endpoint),
                endpoint)
            filters = common.filters_from(parsed_args, conn)
            # NOTE: the work list keeps four small fields per misplaced
            # image (not the images), so the bar knows its total.
            work = [repair_mod.Work.from_finding(f)
                    for f in audit.audit(conn.image, stores, filters,
                                         only_store=parsed_args.store)
                    if f.misplaced]
            progress = progress_mod.Progress(
                len(work), sum(w.size for w in work),
                stream=getattr(self.app, 'stderr', sys.stderr))
            runner = repair_mod.Repair(
                conn.image, state, concurrency=parsed_args.concurrency,
                move=parsed_args.move, dry_run=parsed_args.dry_run,
                limit=parsed_args.limit, progress=progress,
                poll=parsed_args.poll, timeout=parsed_args.timeout)
            try:
                outcomes = list(runner.run(work))
            finally:
                progress.close()
        counts = {}
        for outcome in outcomes:
            counts[outcome.result] = counts.get(outcome.result, 0) + 1
        self.failed = counts.get(repair_mod.FAILED, 0)
        if not parsed_args.dry_run:
            done = ', '.join('%s %d' % item
                             for item in sorted(counts.items()))
            progress.stream.write('repair: %s; state in %s\n' % (
                done or 'nothing to do', state.path))
        return COLUMNS, [(o.image, o.result, common.stores_text(o.stores),
                          o.why) for o in outcomes]
