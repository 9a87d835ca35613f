import os
import sys
import time

import fixtures

from patchseries import clients
from tests import base

TOY_DRIVER = '''\
import os
import sys
import time

STATE = {'runs': 0}


def preload(mark=None):
    with open(os.environ['TOY_PRELOADS'], 'a') as f:
        f.write('%s\\n' % mark)
    STATE['preloaded'] = True


def main(orders):
    STATE['runs'] += 1
    if orders.get('crash'):
        raise RuntimeError('toy driver crashed')
    if orders.get('sleep'):
        time.sleep(orders['sleep'])
    print('chatter before the answer')
    return {'runs': STATE['runs'], 'preloaded': STATE.get('preloaded'),
            'pid': os.getpid(), 'stdin': sys.stdin.read()}
'''


class TestForkServer(base.TestCase):

    def setUp(self):
        super().setUp()
        folder = os.path.join(self.tmp, 'drivers')
        os.makedirs(folder)
        with open(os.path.join(folder, 'toy_client.py'), 'w') as f:
            f.write(TOY_DRIVER)
        self.preloads = os.path.join(self.tmp, 'preloads')
        self.useFixture(fixtures.EnvironmentVariable(
            'PATCHSERIES_DRIVER_PATH', folder))
        self.useFixture(fixtures.EnvironmentVariable(
            'TOY_PRELOADS', self.preloads))

    def preloaded(self):
        with open(self.preloads) as f:
            return f.read().split()

    def test_each_run_starts_from_the_one_import(self):
        with clients.forkservers():
            answers = [clients.run_client(sys.executable, 'toy', {})
                       for _ in range(3)]
        # A fresh fork every time: globals as the import left them.
        self.assertEqual([1, 1, 1], [a['runs'] for a in answers])
        self.assertTrue(all(a['preloaded'] for a in answers))
        self.assertEqual(3, len(set(a['pid'] for a in answers)))
        self.assertEqual('', answers[0]['stdin'])
        self.assertEqual(['None'], self.preloaded())

    def test_crash_is_an_error_with_the_traceback(self):
        with clients.forkservers():
            answer = clients.run_client(sys.executable, 'toy',
                                        {'crash': True})
            after = clients.run_client(sys.executable, 'toy', {})
        self.assertIn('the toy driver failed (exit 1)', answer['error'])
        self.assertIn('toy driver crashed', answer['error'])
        self.assertEqual(1, after['runs'])

    def test_timeout_is_an_error_and_the_next_run_gets_a_new_server(self):
        with clients.forkservers():
            started = time.monotonic()
            answer = clients.run_client(sys.executable, 'toy',
                                        {'sleep': 30}, timeout=2)
            self.assertLess(time.monotonic() - started, 25)
            after = clients.run_client(sys.executable, 'toy', {})
        self.assertIn('did not finish within 2s', answer['error'])
        self.assertEqual(1, after['runs'])
        self.assertEqual(2, len(self.preloaded()))

    def test_servers_end_with_the_block(self):
        with clients.forkservers():
            clients.run_client(sys.executable, 'toy', {})
            (server,) = clients._LOCAL.servers.values()
        self.assertIsNotNone(server.proc.poll())
        self.assertIsNone(getattr(clients._LOCAL, 'servers', None))

    def test_threaded_cinder_orders_get_a_monkey_patched_server(self):
        self.assertEqual({'monkey': True},
                         clients._preload_options('cinder', {'threads': 8}))
        self.assertEqual({'monkey': False},
                         clients._preload_options('cinder', {}))
        self.assertEqual({}, clients._preload_options('nova',
                                                      {'threads': 8}))
