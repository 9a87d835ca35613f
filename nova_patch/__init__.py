"""Facts about the Nova target of the store affinity series.

This module is data only: ``patchseries`` reads it, nothing here runs.
Adding a release means adding an entry to ``RELEASES`` (and, if the
series needs to differ, a series directory of its own).
"""

PYPI_NAME = 'nova'

# Release name -> what to fetch and which series and constraints go with it.
RELEASES = {
    '2026.2': {
        'version': '34.0.0',
        'sha256': ('919eef77cda4ce0cc4746a5853b5d934'
                   '1ebd0ae37bc8b1939eb77d17727c00df'),
        'series': 'series',
        'constraints': 'constraints/2026.2.txt',
    },
    '2026.1': {
        'version': '33.0.2',
        'sha256': ('84ab864ced8867f2989f3ba65ead61a7'
                   'e39891ee7ea693850331636ac9d360ea'),
        'series': 'series-2026.1',
        'constraints': 'constraints/2026.1.txt',
    },
    '2025.1': {
        'version': '31.3.1',
        'sha256': ('483991f483d72edb3bcb61b4da75199c'
                   '39da727c7ed255e584ee08aea6162c41'),
        'series': 'series-2025.1',
        'constraints': 'constraints/2025.1.txt',
    },
    '2024.1': {
        'version': '29.4.0',
        'sha256': ('91a804a32ac76aa42dfb78c770462aed'
                   '759ad9dbcf272872449642405e40c48d'),
        'series': 'series-2024.1',
        'constraints': 'constraints/2024.1.txt',
        # NOTE: nova 29.4.0 declares nova.virt a namespace package through
        # pkg_resources (nova/virt/__init__.py) without requiring
        # setuptools, which a uv environment does not have by default;
        # tox's virtualenvs of 2024 had it. Without it nothing imports.
        'extra_packages': ('openstack-placement', 'setuptools'),
    },
}

# NOTE: nova's own tox.ini installs these extras for its unit tests.
# Without oslo.vmware and zVMCloudConnector the vmware and zvm tests are
# skipped silently, which would hide a regression in those drivers.
EXTRAS = ('vmware', 'zvm')
# NOTE: the functional tests import the PlacementFixture of placement,
# which nova's [testenv:functional] installs on top of its test
# requirements.
EXTRA_PACKAGES = ('openstack-placement',)

# The environment of nova's [testenv:py3].
TEST_ENV = {
    'LANGUAGE': 'en_US',
    'LC_ALL': 'C.UTF-8',
    'OS_STDOUT_CAPTURE': '1',
    'OS_STDERR_CAPTURE': '1',
    'OS_TEST_TIMEOUT': '160',
    'PYTHONDONTWRITEBYTECODE': '1',
    'NOVA_RAISE_ON_GREENLET_LEAK': 'True',
    'OS_NOVA_DISABLE_EVENTLET_PATCHING': 'False',
}

# Where stestr discovers tests (relative to the tree).
TEST_PATH = './nova/tests/unit'

# The upstream selection that proves the series: (module, regex or None).
# A regex narrows the module to the test ids it matches (re.search).
TESTS = (
    ('nova.tests.unit.image.test_glance', None),
    ('nova.tests.unit.virt.libvirt.test_driver', r'[Ss]napshot'),
    ('nova.tests.unit.virt.libvirt.test_imagebackend',
     r'[Ss]napshot|[Rr][Bb][Dd]'),
    ('nova.tests.unit.compute.test_api', r'[Ss]napshot|[Bb]ackup|[Ss]helve'),
    ('nova.tests.unit.compute.test_compute',
     r'[Ss]napshot|[Bb]ackup|[Ss]helve'),
    ('nova.tests.unit.compute.test_compute_mgr',
     r'[Ss]napshot|[Bb]ackup|[Ss]helve'),
    ('nova.tests.unit.compute.test_shelve', None),
    ('nova.tests.unit.api.openstack.compute.test_create_backup', None),
    ('nova.tests.unit.api.openstack.compute.test_server_actions',
     r'[Cc]reate_?[Ii]mage|[Bb]ackup|[Ss]napshot'),
    ('nova.tests.unit.virt.vmwareapi.test_vmops', r'[Ss]napshot'),
    ('nova.tests.unit.virt.vmwareapi.test_images', None),
    ('nova.tests.unit.virt.vmwareapi.test_driver_api', r'[Ss]napshot'),
    ('nova.tests.unit.virt.zvm.test_driver', r'[Ss]napshot'),
)

# Nova runs its functional tests apart from its unit tests, as its
# [testenv:functional] does: from ./nova/tests/functional, with
# openstack-placement installed. Discovered together with the unit tests,
# even upstream's own nova.tests.functional.test_images fails on 34.0.0.
FUNCTIONAL_TEST_PATH = './nova/tests/functional'
# Upstream's functional tests of the image API that snapshots go through.
FUNCTIONAL_TESTS = (
    ('nova.tests.functional.test_images', None),
)
# What the snapshot, backup and shelve uploads carry, driven through the
# API with the libvirt driver on fakelibvirt.
FUNCTIONAL_SERIES_TESTS = (
    ('nova.tests.functional.libvirt.test_snapshot_upload', None),
)
