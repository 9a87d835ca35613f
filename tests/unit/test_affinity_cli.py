"""The ``openstack image affinity`` commands, as an operator runs them.

OpenStackClient runs in a child process with a clouds.yaml that points
at the fake Glance: ``auth_type: admin_token`` (keystoneauth's
token-and-endpoint plugin) carries our test token, so no keystone is
needed, and ``image_endpoint_override`` names the image endpoint.
"""

import json
import os
import subprocess
import sys

from patchseries import glance_identity
from tests.unit import affinity_base


def write_clouds_yaml(folder, url, project='admin', roles=('admin',)):
    """A clouds.yaml with one cloud, ``test``, for a token-only Glance."""
    path = os.path.join(folder, 'clouds.yaml')
    with open(path, 'w') as f:
        f.write('clouds:\n'
                '  test:\n'
                '    auth_type: admin_token\n'
                '    auth:\n'
                '      endpoint: %s\n'
                '      token: "%s"\n'
                '    image_endpoint_override: %s\n'
                % (url, glance_identity.make_token(project, roles=roles),
                   url))
    return path


def openstack(clouds_yaml, *args, cloud='test', timeout=120):
    """Run ``openstack --os-cloud test ARGS``; ``(rc, stdout, stderr)``."""
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=clouds_yaml)
    for name in list(env):
        if name.startswith('OS_') and name != 'OS_CLIENT_CONFIG_FILE':
            del env[name]
    proc = subprocess.run(
        [sys.executable, '-m', 'openstackclient.shell', '--os-cloud',
         cloud] + list(args), env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


class TestCommands(affinity_base.AffinityTestCase):

    def setUp(self):
        super().setUp()
        self.wrong = self.add_snapshot('s1', 'p1', self.base23)
        self.add_snapshot('ok', 'p1', self.base2, ('store2',))
        self.clouds = write_clouds_yaml(self.tmp, self.fake.url)

    def test_audit_repair_audit(self):
        rc, out, err = openstack(self.clouds, 'image', 'affinity', 'audit',
                                 '--all-projects', '-f', 'json')
        self.assertEqual(0, rc, err)
        self.assertEqual([{
            'Image': self.wrong, 'Base': self.base23, 'Size': 1024,
            'Stores Now': 'store1', 'Stores Wanted': 'store2,store3',
            'Reason': 'not in store2, store3, where its base image is'}],
            json.loads(out))
        rc, out, err = openstack(self.clouds, 'image', 'affinity', 'audit',
                                 '--all-projects', '--long', '-f', 'value',
                                 '-c', 'Name', '-c', 'Project', '-c', 'Type')
        self.assertEqual((0, 's1 p1 snapshot\n'), (rc, out), err)
        rc, out, err = openstack(self.clouds, 'image', 'affinity', 'audit',
                                 '--all-projects', '--summary', '-f', 'csv')
        self.assertEqual(0, rc, err)
        self.assertEqual(['"From Stores","To Store","Images","GiB"',
                          '"store1","store2",1,0.0',
                          '"store1","store3",1,0.0'], out.splitlines())
        state = os.path.join(self.tmp, 'state.jsonl')
        rc, out, err = openstack(self.clouds, 'image', 'affinity', 'repair',
                                 '--all-projects', '--state', state,
                                 '--poll', '0.1', '-f', 'value')
        self.assertEqual(0, rc, err)
        self.assertEqual('%s copied store2,store3 copied into store2, '
                         'store3' % self.wrong, out.strip())
        self.assertIn('repair: 1/1 %s copied' % self.wrong, err)
        self.assertIn('repair: copied 1; state in %s' % state, err)
        rc, out, err = openstack(self.clouds, 'image', 'affinity', 'audit',
                                 '--all-projects', '-f', 'value')
        self.assertEqual((0, ''), (rc, out), err)

    def test_failed_copy_is_reported_and_exits_1(self):
        self.fake.app.copy_failures.add('store3')
        rc, out, err = openstack(self.clouds, 'image', 'affinity', 'repair',
                                 '--all-projects', '--poll', '0.1',
                                 '--state', os.path.join(self.tmp, 's'),
                                 '-f', 'value', '-c', 'Result', '-c', 'Why')
        self.assertEqual(1, rc, err)
        self.assertEqual('failed Glance could not copy into store3 '
                         '(os_glance_failed_import)', out.strip())
        self.assertIn('repair: failed 1;', err)

    def test_bad_input_is_a_clear_error_and_changes_nothing(self):
        cases = [
            (('--store', 'nope'), "unknown store 'nope'"),
            (('--store', 'readonly'), "store 'readonly' is read-only"),
            (('--concurrency', '0'), '--concurrency must be at least 1'),
        ]
        for args, message in cases:
            rc, out, err = openstack(self.clouds, 'image', 'affinity',
                                     'repair', '--all-projects', *args)
            self.assertEqual(1, rc, args)
            self.assertIn(message, err)
        rc, out, err = openstack(self.clouds, 'image', 'affinity', 'audit',
                                 cloud='nope')
        self.assertNotEqual(0, rc)
        self.assertIn('nope', err)
        self.assertIn('not found', err)
        member = write_clouds_yaml(os.path.join(self.tmp), self.fake.url,
                                   project='p1', roles=('member',))
        rc, out, err = openstack(member, 'image', 'affinity', 'repair',
                                 '--state', os.path.join(self.tmp, 's'))
        self.assertEqual(1, rc)
        self.assertIn('Glance refused copy-image', err)
        self.assertEqual([], self.fake.recorder.entries('DELETE'))
        self.assertEqual(('store1',), self.stores_of(self.wrong))
