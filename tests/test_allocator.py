"""minidl.allocator: glibc's malloc keeps freed memory, so a step's arrays reuse pages instead of faulting."""

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the setting is glibc's")

# A convolution's training steps with its chunk temporaries allocated afresh (the scratch buffers
# bypassed), on minidl's threads: the pattern that faulted on every step with glibc's defaults. The
# median step after a warm-up: a worker thread's arena may still grow once in the first steps, later
# on a loaded machine, where the pool's second thread starts late.
FAULTS_PER_STEP = """
import resource
import numpy as np
import minidl
from minidl.layers import conv

conv.scratch = lambda name, shape, dtype: np.empty(shape, dtype)
minidl.set_num_threads(2)
layer = minidl.layers.Conv2D(32, 3, padding="same")
layer.build_for((None, 28, 28, 32))
layer.need_input_grad = True
rng = np.random.default_rng(0)
x, g = rng.random((32, 28, 28, 32), dtype=np.float32), rng.random((32, 28, 28, 32), dtype=np.float32)
faults = []
for step in range(15):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    layer.forward(x, training=True)
    layer.backward(g)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(minidl.allocator.applied, np.median(faults[3:]), faults)
"""


def run(setting: str) -> tuple[bool, float, str]:
    """Whether the setting was applied, the median step's page faults, and every step's."""
    env = {**os.environ, "MINIDL_KEEP_FREED_MEMORY": setting}
    out = subprocess.run([sys.executable, "-c", FAULTS_PER_STEP], env=env, capture_output=True, text=True, check=True)
    applied, median, every_step = out.stdout.strip().splitlines()[-1].split(maxsplit=2)
    return applied == "True", float(median), every_step


def test_freed_memory_is_kept_and_reused_without_page_faults():
    applied, faults, steps = run("1")
    default_applied, default_faults, default_steps = run("0")
    assert applied and not default_applied  # MINIDL_KEEP_FREED_MEMORY=0 leaves malloc as it is
    if default_faults < 1000:
        pytest.skip(f"this glibc did not give the memory back here ({default_faults:.0f} faults per step)")
    assert faults < default_faults / 100, (steps, default_steps)
