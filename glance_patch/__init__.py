"""Facts about the Glance target of the store affinity series.

This module is data only: ``patchseries`` reads it, nothing here runs.
"""

PYPI_NAME = 'glance'

RELEASES = {
    '2026.2': {
        'version': '33.0.0',
        'sha256': ('f6483b580565836e412747ed247703e5'
                   '2a96b0cf168c732986ac595377c92678'),
        'series': 'series',
        'constraints': 'constraints/2026.2.txt',
    },
}

EXTRAS = ()
# The scenario table serves this Glance under gunicorn: Glance 33 has no
# glance-api command any more.
EXTRA_PACKAGES = ('gunicorn',)

# The environment of glance's [testenv]; see the NOTE(hemanthm) there on
# why oslo.db needs a file-based admin connection that is never created.
TEST_ENV = {
    'OS_TEST_DBAPI_ADMIN_CONNECTION':
        'sqlite:////tmp/placeholder-never-created-nor-used.db',
    'PYTHONDONTWRITEBYTECODE': '1',
}

# NOTE: the web-download tests of test_multi_store_images fetch from
# "localhost." (with the trailing dot). Where the machine's resolver
# cannot resolve that name, verify installs a shim into the test
# environment that resolves it as "localhost", and says so in its report.
RESOLVE_LOCALHOST_FQDN = True

# Unit and functional tests share one discovery root.
TEST_PATH = './glance/tests'

TESTS = (
    ('glance.tests.unit.v2.test_image_data_resource', None),
    ('glance.tests.unit.v2.test_images_resource', None),
    ('glance.tests.unit.async_.flows.test_api_image_import', None),
    ('glance.tests.functional.v2.test_multi_store_images', None),
    ('glance.tests.functional.v2.test_discovery', None),
)

# The series adds tests for glance.api.common.start_image_import, which
# the selection above does not cover.
SERIES_TESTS = (
    ('glance.tests.unit.api.test_common', None),
)
