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
    '2026.1': {
        'version': '28.0.0',
        'sha256': ('8b3326ec6dd2b5e34b73d39f6142a3e4'
                   '908a7afe14974b651e4686dac8a1a12f'),
        'series': 'series-2026.1',
        'constraints': 'constraints/2026.1.txt',
    },
    '2025.1': {
        'version': '26.3.0',
        'sha256': ('77ed7125173d15b1c55cbceca04d2e41'
                   '0bcc870ca420cd1f9e36028acbd75c6b'),
        'series': 'series-2025.1',
        'constraints': 'constraints/2025.1.txt',
    },
    '2024.1': {
        'version': '24.5.0',
        'sha256': ('9164d571c9c5703715b7d8ed1a0302dd'
                   '6a90c135d24d36e3c4e511d1c2747ecb'),
        'series': 'series-2024.1',
        'constraints': 'constraints/2024.1.txt',
        # keystonemiddleware and os-win of 2024.1 import pkg_resources,
        # which uv's venvs do not have; unmaintained/2024.1's tox.ini
        # adds setuptools<82 after 24.5.0 (upstream Id9739630e0ce412e).
        'extra_packages': ('setuptools',),
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
