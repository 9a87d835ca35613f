"""OpenStackClient plugin hooks of the image affinity commands.

OpenStackClient finds this module through the ``openstack.cli.extension``
entry point, reads the API version from ``--os-image-affinity-api-version``
(or ``image_affinity_api_version`` in clouds.yaml), and loads the commands
of the ``openstack.image_affinity.v1`` entry point group. The client is
the openstacksdk connection OpenStackClient already made from clouds.yaml
/ ``OS_*``: the commands use its image proxy.
"""

import logging

from osc_lib import utils

LOG = logging.getLogger(__name__)

DEFAULT_API_VERSION = '1'
API_VERSION_OPTION = 'os_image_affinity_api_version'
API_NAME = 'image_affinity'
API_VERSIONS = ('1',)


def make_client(instance):
    """The openstacksdk connection of OpenStackClient's client manager."""
    LOG.debug('image affinity: using the openstacksdk connection')
    return instance.sdk_connection


def build_option_parser(parser):
    """Add the plugin's global option to OpenStackClient's parser."""
    parser.add_argument(
        '--os-image-affinity-api-version',
        metavar='<image-affinity-api-version>',
        default=utils.env('OS_IMAGE_AFFINITY_API_VERSION'),
        help='Image affinity command version, default=%s '
             '(Env: OS_IMAGE_AFFINITY_API_VERSION)' % DEFAULT_API_VERSION)
    return parser
