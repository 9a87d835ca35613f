"""Facts about the Glance target of the store affinity series.

This module is data only: ``patchseries`` reads it, nothing here runs.
"""

PYPI_NAME = 'glance'

# The selection of glance 30.2.0 (2025.1), where it differs from TESTS
# below.
TESTS_2025_1 = (
    ('glance.tests.unit.v2.test_image_data_resource', None),
    ('glance.tests.unit.v2.test_images_resource', None),
    ('glance.tests.unit.async_.flows.test_api_image_import', None),
    ('glance.tests.unit.async_.flows.test_copy_image', None),
    # Only the classes that call the API in process (SynchronousAPIBase).
    # The other classes of glance 30's test_images (TestImages,
    # TestImagesMultipleBackend, ...) start glance-api in a subprocess that
    # must listen within 30 seconds: on a loaded machine it does not, and
    # they fail unpatched. Upstream moved them in process in 2025.2 (as
    # test_images and test_multi_store_images), which is what TESTS runs.
    # Of those classes, all but TestKeystoneQuotas.test_stage (see TESTS)
    # and the two test_add_location_with_do_secure_hash tests, which give
    # the hashing task of a new location 5 and 10 seconds: both failed
    # unpatched here when the machine was loaded.
    ('glance.tests.functional.v2.test_images',
     r'(?:TestImportProxy|TestKeystoneQuotas|TestStoreWeight|'
     r'TestMultipleBackendsLocationApi)\.test_\w+'
     r'(?<!\.TestKeystoneQuotas\.test_stage)'
     r'(?<!\.test_add_location_with_do_secure_hash_false)'
     r'(?<!\.test_add_location_with_do_secure_hash_true)$'),
    ('glance.tests.functional.v2.test_discovery', None),
    # All but five tests that fail unpatched in glance 30: the
    # ImportURITestCase ones resolve foo.com (offline: no resolver), and
    # the single-store http ones set [glance_store]/stores without
    # registering it first. Upstream fixed both tests later (a mocked
    # getaddrinfo, store.register_opts).
    ('glance.tests.unit.common.test_utils',
     r'(?<!\.ImportURITestCase\.test_validate_import_uri)'
     r'(?<!\.ImportURITestCase\.test_ignored_filtering_options)'
     r'(?<!\.test_single_store_http_enabled_and_http_not_in_url)'
     r'(?<!\.test_single_store_http_disabled_and_http_in_url)'
     r'(?<!\.test_single_store_http_enabled_and_http_in_url)$'),
    ('glance.tests.unit.test_policy', None),
    ('glance.tests.unit.v2.test_v2_policy', None),
    ('glance.tests.functional.db.test_sqlalchemy', 'TestImageStorageUsage'),
)

# The 2025.1 series creates test_multi_store_images in glance 30, with
# the class and tests it adds to that module in 2026.2; it also adds the
# copy races module and glance.api.common.start_image_import.
SERIES_TESTS_2025_1 = (
    ('glance.tests.functional.v2.test_multi_store_images', None),
    ('glance.tests.functional.v2.test_images_import_races', None),
    ('glance.tests.unit.api.test_common', None),
)

RELEASES = {
    '2026.2': {
        'version': '33.0.0',
        'sha256': ('f6483b580565836e412747ed247703e5'
                   '2a96b0cf168c732986ac595377c92678'),
        'series': 'series',
        'constraints': 'constraints/2026.2.txt',
    },
    '2026.1': {
        'version': '32.0.0',
        'sha256': ('e92cce22edf09f573c7083cecb783f19'
                   'b526a3be9bc34c4018e658962b9d98e5'),
        'series': 'series-2026.1',
        'constraints': 'constraints/2026.1.txt',
        # The 2026.2 selection, less upstream tests of glance 32.0.0 that
        # fail here unpatched: ImportURITestCase resolves foo.com and
        # example.com, and test_web_download_redirect_validation
        # httpbin.org (offline, the URI filter refuses them); TestImagesIPv6
        # starts the standalone glance-api, which never came up here (33
        # removed both); and four races of the eventlet task pool under
        # load, which 33's native threads and task waits fixed: a copy
        # right after an import's image went active meets its import lock
        # (409), and a location add waits 2 s for active.
        'tests': (
            ('glance.tests.unit.v2.test_image_data_resource', None),
            ('glance.tests.unit.v2.test_images_resource', None),
            ('glance.tests.unit.async_.flows.test_api_image_import', None),
            ('glance.tests.unit.async_.flows.test_copy_image', None),
            ('glance.tests.functional.v2.test_multi_store_images',
             r'(?<!\.TestImagesMultipleBackend\.test_copy_image_lifecycle)'
             r'(?<!\.test_copy_image_revert_lifecycle)$'),
            ('glance.tests.functional.v2.test_images',
             r'(?<!\.TestKeystoneQuotas\.test_stage)'
             r'(?<!\.test_web_download_redirect_validation)'
             r'(?<!\.TestImagesIPv6\.test_image_list_ipv6)'
             r'(?<!\.test_copy_public_image_as_non_admin_permitted)'
             r'(?<!\.TestImagesSingleStore'
             r'\.test_add_location_with_do_secure_hash_false)$'),
            ('glance.tests.functional.v2.test_discovery', None),
            ('glance.tests.unit.common.test_utils',
             r'(?<!\.ImportURITestCase\.test_validate_import_uri)'
             r'(?<!\.ImportURITestCase\.test_ignored_filtering_options)$'),
            ('glance.tests.unit.test_policy', None),
            ('glance.tests.unit.v2.test_v2_policy', None),
            ('glance.tests.functional.db.test_sqlalchemy',
             'TestImageStorageUsage'),
        ),
    },
    '2025.1': {
        'version': '30.2.0',
        'sha256': ('d2cf8e4c24e851b9b1c1c6e665ee8925'
                   '398074be67de2af72b6063ce3f44a248'),
        'series': 'series-2025.1',
        'constraints': 'constraints/2025.1.txt',
        # glance 30 has no test_multi_store_images (upstream moved
        # TestImagesMultipleBackend there in 2025.2); see TESTS_2025_1.
        'tests': TESTS_2025_1,
        'series_tests': SERIES_TESTS_2025_1,
    },
    '2024.1': {
        'version': '28.2.0',
        'sha256': ('e31b68351bb6c4fe50f9ff273116a292'
                   '5a16bdb4e65fc7799e3b18f09e6e8e27'),
        'series': 'series-2024.1',
        'constraints': 'constraints/2024.1.txt',
        # glance 28's wsgi module imports os_win, which imports
        # pkg_resources: setuptools (pinned in the constraints to a release
        # that still has it) is not among glance's requirements.
        'extra_packages': ('gunicorn', 'setuptools'),
        # The selection of TESTS below without test_multi_store_images,
        # which glance 28.2.0 does not have (upstream moved its functional
        # tests of multiple stores there in 2025.2, out of test_images).
        # The series creates the module: SERIES_TESTS selects it.
        'tests': (
            ('glance.tests.unit.v2.test_image_data_resource', None),
            ('glance.tests.unit.v2.test_images_resource', None),
            ('glance.tests.unit.async_.flows.test_api_image_import', None),
            ('glance.tests.unit.async_.flows.test_copy_image', None),
            # Only the classes of test_images that call the API in process
            # (SynchronousAPIBase). Its other classes (FunctionalTest and
            # MultipleBackendFunctionalTest; upstream moved them in process
            # in 2025.2) launch glance-api in a subprocess, which on a
            # loaded machine does not come up within their start timeout:
            # they fail unpatched. TestKeystoneQuotas.test_stage stays out
            # as in the 2026.2 selection (it needs a resolver).
            ('glance.tests.functional.v2.test_images',
             r'(?:TestImportProxy|TestStoreWeight)\.'
             r'|TestKeystoneQuotas\.(?!test_stage$)'),
            ('glance.tests.functional.v2.test_discovery', None),
            ('glance.tests.unit.common.test_utils', None),
            ('glance.tests.unit.test_policy', None),
            ('glance.tests.unit.v2.test_v2_policy', None),
            ('glance.tests.functional.db.test_sqlalchemy',
             'TestImageStorageUsage'),
        ),
        'series_tests': (
            ('glance.tests.functional.v2.test_multi_store_images', None),
            ('glance.tests.functional.v2.test_images_import_races', None),
            ('glance.tests.unit.api.test_common', None),
        ),
    },
}

# What a release's series does, by the Change-Id of the commit that
# brings it: a release whose series stops before a commit lacks its
# feature, and the scenario table expects what that release really does.
FEATURES = {
    'base_store_upload': 'Ic2482376efb8152ce8a690b5f38921475f0c6ee7',
    'colocation': 'Ie08a476a5e506ae0b72325eeeb6ff34105cd9935',
    'colocate_policy': 'Ia94576bdf8c2436c883af3380e9c9a3cbb5a7c0e',
    'base_ref_property': 'I12c7c319ae443eb4bca5cdbbfa491816cadfba45',
    # copy-image without staging when max_parallel_stores > 1 (commit 11,
    # 2026.2 only).
    'direct_copy': 'I49ad5abfe9ab519678b58faea7f3bf151bc71223',
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
    ('glance.tests.unit.async_.flows.test_copy_image', None),
    ('glance.tests.functional.v2.test_multi_store_images', None),
    # All but TestKeystoneQuotas.test_stage, whose web-download import of
    # http://example.com/foo.img needs a resolver for example.com: offline,
    # the URI filter refuses it with 400 before the import, unpatched and
    # patched alike.
    ('glance.tests.functional.v2.test_images',
     r'(?<!\.TestKeystoneQuotas\.test_stage)$'),
    ('glance.tests.functional.v2.test_discovery', None),
    # get_stores_from_request (reserved stores), the policies, the
    # uploading count of the database
    ('glance.tests.unit.common.test_utils', None),
    ('glance.tests.unit.test_policy', None),
    ('glance.tests.unit.v2.test_v2_policy', None),
    ('glance.tests.functional.db.test_sqlalchemy', 'TestImageStorageUsage'),
)

# Modules the series adds tests to that the selection above does not
# cover: the copy races of the import flow (a new module), and
# glance.api.common.start_image_import.
SERIES_TESTS = (
    ('glance.tests.functional.v2.test_images_import_races', None),
    ('glance.tests.unit.api.test_common', None),
)
