import glob
import os
import sys
from unittest import mock

import fixtures

from patchseries import venv
from tests import base


class TestBytecode(base.TestCase):
    """Test environments hold their libraries' bytecode, as pip's do."""

    def setUp(self):
        super().setUp()
        release = mock.Mock(label='nova-34.0.0', version='34.0.0',
                            extra_packages=(), constraints=None)
        release.target.extras = ()
        release.target.resolve_localhost_fqdn = False
        self.env = venv.TestEnv(release, os.path.join(self.tmp, 'tree'),
                                self.tmp)
        self.lib = os.path.join(self.tmp, 'site-packages')
        os.makedirs(self.lib)
        with open(os.path.join(self.lib, 'upstream_lib.py'), 'w') as f:
            f.write('VALUE = 1\n')
        self.useFixture(fixtures.MockPatchObject(
            venv.TestEnv, '_paths', return_value=[self.lib, self.lib]))

    def built(self, *markers):
        os.makedirs(self.env.bin_dir)
        os.symlink(sys.executable, self.env.python)
        for name in markers:
            with open(os.path.join(self.env.path, name), 'w') as f:
                f.write('nova-34.0.0\n')

    def compiled(self):
        return glob.glob(os.path.join(self.lib, '__pycache__',
                                      'upstream_lib.*.pyc'))

    def test_an_environment_built_before_is_compiled_once(self):
        self.built(venv.COMPLETE_MARKER)
        self.assertFalse(self.env.ensure())
        self.assertEqual(1, len(self.compiled()))
        self.assertTrue(os.path.exists(
            os.path.join(self.env.path, venv.BYTECODE_MARKER)))
        with mock.patch.object(venv.subprocess, 'run') as run:
            self.assertFalse(self.env.ensure())
        run.assert_not_called()

    def test_a_compiled_environment_is_left_alone(self):
        self.built(venv.COMPLETE_MARKER, venv.BYTECODE_MARKER)
        self.assertFalse(self.env.ensure())
        self.assertEqual([], self.compiled())

    def test_a_new_environment_is_compiled_at_install(self):
        calls = []

        def uv(*args):
            calls.append(args)
            if args[0] == 'venv':
                self.built()

        with mock.patch.object(self.env, '_uv', side_effect=uv):
            self.assertTrue(self.env.ensure())
        install = calls[1]
        self.assertEqual(('pip', 'install'), install[:2])
        self.assertIn('--compile-bytecode', install)
        for name in (venv.COMPLETE_MARKER, venv.BYTECODE_MARKER):
            self.assertTrue(os.path.exists(os.path.join(self.env.path,
                                                        name)))
        # uv compiled it; the environment is not compiled a second time.
        self.assertEqual([], self.compiled())
