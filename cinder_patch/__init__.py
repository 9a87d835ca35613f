"""Facts about the Cinder target of the store affinity series.

This module is data only: ``patchseries`` reads it, nothing here runs.
"""

PYPI_NAME = 'cinder'

RELEASES = {
    '2026.2': {
        'version': '29.0.0',
        'sha256': ('6372ca98db3d7781031ce5950b44698b'
                   'add6176db794ff1f74b0621be583429e'),
        'series': 'series',
        'constraints': 'constraints/2026.2.txt',
    },
}

EXTRAS = ()
EXTRA_PACKAGES = ()

# Commands the selected tests run, with the Debian package that has them
# (cinder's bindep.txt). test_format_inspector creates images with
# qemu-img and fails without it.
REQUIRED_COMMANDS = {'qemu-img': 'qemu-utils'}

# The environment of cinder's [testenv].
TEST_ENV = {
    'OS_STDOUT_CAPTURE': '1',
    'OS_STDERR_CAPTURE': '1',
    'OS_TEST_TIMEOUT': '60',
    'PYTHONDONTWRITEBYTECODE': '1',
    'OS_CINDER_DISABLE_EVENTLET_PATCHING': 'False',
}

TEST_PATH = './cinder/tests/unit'

TESTS = (
    ('cinder.tests.unit.image', None),
    ('cinder.tests.unit.test_image_utils', None),
    ('cinder.tests.unit.test_volume_utils', None),
    ('cinder.tests.unit.volume.test_image', None),
    ('cinder.tests.unit.volume.test_volume_manager', None),
    ('cinder.tests.unit.volume.test_volume', r'[Ii]mage'),
    ('cinder.tests.unit.api.contrib.test_types_extra_specs', None),
    ('cinder.tests.unit.api.contrib.test_types_manage', None),
    ('cinder.tests.unit.api.contrib.test_volume_actions', r'[Uu]pload'),
    ('cinder.tests.unit.volume.drivers.vmware.test_vmware_vmdk',
     r'[Ii]mage'),
    ('cinder.tests.unit.volume.drivers.test_quobyte', r'[Ii]mage'),
    ('cinder.tests.unit.volume.drivers.test_spdk', r'[Ii]mage'),
    ('cinder.tests.unit.volume.drivers.test_gpfs', r'[Ii]mage'),
)
