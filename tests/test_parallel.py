"""minidl.parallel.blockwise: cutting an element-wise kernel into blocks and threads changes nothing."""

import os
import subprocess
import sys

import numpy as np
import pytest

from minidl import parallel


@pytest.fixture(params=[1, 2, 3])
def threads(request):
    before = parallel.get_num_threads()
    parallel.set_num_threads(request.param)
    yield request.param
    parallel.set_num_threads(before)


def affine(x_block, y_block):  # two operations, the second reading what the first wrote
    np.multiply(x_block, 1.7, out=y_block)
    np.add(y_block, np.float32(0.3), out=y_block)


@pytest.mark.parametrize(
    "shape", [(1,), (7,), (parallel.PARALLEL_MIN + 13,), (513, 1031), (3, 5, 7, 11), (1, parallel.PARALLEL_MIN + 1)]
)
@pytest.mark.parametrize("block", [parallel.BLOCK, 100, None])
def test_blocks_and_threads_give_the_unblocked_result(shape, block, threads):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    expected = np.empty_like(x)
    affine(x, expected)
    y = np.full_like(x, np.nan)
    parallel.blockwise(affine, x, y, block=block)
    np.testing.assert_array_equal(y, expected)  # bit for bit, every element written


def test_non_contiguous_arrays_are_processed_whole():
    x = np.arange(40, dtype=np.float32).reshape(8, 5)[:, ::2]  # a strided view: blocks could not be views
    y = np.empty_like(x)
    parallel.blockwise(affine, x, y)
    np.testing.assert_array_equal(y, x * np.float32(1.7) + np.float32(0.3))


def test_the_kernel_sees_matching_blocks():
    rows = parallel.PARALLEL_MIN // 4 + 3
    first, second = np.zeros((rows, 4)), np.zeros(rows)
    seen = []

    def kernel(a, b):
        assert a.shape[0] == b.shape[0]
        seen.append(a.shape[0])
        a += 1
        b += 1

    parallel.blockwise(kernel, first, second)
    assert sum(seen) == rows and len(seen) > 1
    assert (first == 1).all() and (second == 1).all()


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_num_threads_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="set_num_threads"):
        parallel.set_num_threads(bad)


def threads_in_a_fresh_process(value: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MINIDL_NUM_THREADS"}
    if value is not None:
        env["MINIDL_NUM_THREADS"] = value
    return subprocess.run(
        [sys.executable, "-c", "import minidl; print(minidl.get_num_threads())"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_threads_from_the_environment():
    """MINIDL_NUM_THREADS, read when minidl is imported, sets the threads; a bad value is a clear error."""
    assert threads_in_a_fresh_process("3").stdout.strip() == "3"
    bad = threads_in_a_fresh_process("two")
    assert bad.returncode != 0 and "MINIDL_NUM_THREADS must be a positive integer, got 'two'" in bad.stderr
    assert int(threads_in_a_fresh_process(None).stdout) >= 1


def test_empty_arrays():
    x = np.empty((0, 5), np.float32)
    parallel.blockwise(affine, x, np.empty_like(x))
    parallel.blockwise(affine, x, np.empty_like(x), block=None)
