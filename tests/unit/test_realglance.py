# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

import subprocess
import sys
import time

from patchseries import exceptions
from patchseries import realglance
from tests import base

# A parent that starts a child in its own process group, both busy for
# about half a second of CPU, then waiting to be stopped.
_BUSY = """
import subprocess, sys, time
def spin(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
if sys.argv[1:] == ['child']:
    spin(0.5)
else:
    child = subprocess.Popen([sys.executable, '-c', __CODE__, 'child'])
    spin(0.5)
    print('busy', flush=True)
    child.wait()
time.sleep(60)
"""


class TestCpuSeconds(base.TestCase):

    def _start(self):
        code = _BUSY.replace('__CODE__', repr(_BUSY))
        proc = subprocess.Popen([sys.executable, '-c', code],
                                stdout=subprocess.PIPE, text=True,
                                start_new_session=True)
        self.addCleanup(self._stop, proc)
        self.assertEqual('busy\n', proc.stdout.readline())
        return proc

    def _stop(self, proc):
        subprocess.run(['pkill', '-KILL', '-g', str(proc.pid)])
        proc.wait()
        proc.stdout.close()

    def test_counts_every_process_of_the_group(self):
        glance = realglance.RealGlance(self.tmp, self.tmp)
        glance.proc = self._start()
        # Both have spun; the parent printed after its child started.
        deadline = time.monotonic() + 10
        while glance.cpu_seconds() < 0.9 and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertGreaterEqual(glance.cpu_seconds(), 0.9)
        self.assertLess(glance.cpu_seconds(), 5)

    def test_a_stopped_glance_has_no_cpu_seconds(self):
        glance = realglance.RealGlance(self.tmp, self.tmp)
        self.assertRaises(exceptions.PatchSeriesError, glance.cpu_seconds)
