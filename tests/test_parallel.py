"""minidl.parallel.blockwise: cutting an element-wise kernel into blocks and threads changes nothing."""

import os
import subprocess
import sys
import threading

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


def test_blocks_inside_chunks_run_on_the_chunks_thread(threads):
    """A chunk's work that splits element-wise work of its own (a layer's maps inside a convolution's
    chunks) runs it on the chunk's thread: the pool's workers never wait on tasks queued behind them."""
    x = np.random.default_rng(0).standard_normal((4, parallel.PARALLEL_MIN)).astype(np.float32)
    y = np.full_like(x, np.nan)

    def work(start, stop):
        parallel.blockwise(affine, x[start:stop], y[start:stop], block=None)
        return parallel.in_chunks(lambda a, b: b - a, stop - start, 1)

    assert parallel.in_chunks(work, 4, 1) == [[1]] * 4
    expected = np.empty_like(x)
    affine(x, expected)
    np.testing.assert_array_equal(y, expected)


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


def test_scratch_is_reused_per_thread_and_name_and_grows_when_needed(threads):
    """scratch hands each thread its own memory per name, the same memory on its next call (no new
    pages: the point of it), and more when a call needs more."""

    def buffers(start, stop):
        a = parallel.scratch("a", (stop - start, 3), np.float32)
        a[...] = start
        b = parallel.scratch("b", (2,), np.float64)
        again = parallel.scratch("a", (2, 3), np.float32)
        assert not np.shares_memory(a, b) and np.shares_memory(a, again) and a.flags.c_contiguous
        return threading.get_ident(), a.__array_interface__["data"][0]

    places = parallel.in_chunks(buffers, 8, 2)
    by_thread = {thread: {place for t, place in places if t == thread} for thread, _ in places}
    assert all(len(addresses) == 1 for addresses in by_thread.values())  # one buffer per thread and name
    assert len({next(iter(a)) for a in by_thread.values()}) == len(by_thread)  # not shared between threads
    small = parallel.scratch("grows", (4,), np.float32)
    assert np.shares_memory(small, parallel.scratch("grows", (2, 2), np.float32))
    large = parallel.scratch("grows", (1000,), np.float32)
    assert large.shape == (1000,) and large.dtype == np.float32
    assert np.shares_memory(large, parallel.scratch("grows", (10,), np.float64))  # the grown memory, reused
    huge = (parallel.SCRATCH_KEPT_MAX // 4 + 1,)
    assert not np.shares_memory(parallel.scratch("huge", huge, np.float32), parallel.scratch("huge", huge, np.float32))


def test_chunks_come_back_in_order_with_blas_on_one_thread(threads):
    x = np.random.default_rng(1).standard_normal((300, 40)).astype(np.float32)
    blas_threads = []

    def product(start, stop):  # a chunk's share of x^T x, and the BLAS threads it ran with
        from threadpoolctl import threadpool_info

        blas_threads.append(max(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"))
        return start, stop, x[start:stop].T @ x[start:stop]

    parts = parallel.in_chunks(product, len(x), 64)
    # at most 64 rows a chunk, in an even number of equal chunks: six of 50
    assert [(start, stop) for start, stop, _ in parts] == [(k, k + 50) for k in range(0, 300, 50)]
    expected = [x[start:stop].T @ x[start:stop] for start, stop, _ in parts]
    for (_, _, got), want in zip(parts, expected):
        np.testing.assert_array_equal(got, want)  # a chunk's product is the same on one BLAS thread
    if threads > 1:
        assert blas_threads == [1] * 6  # two threads each on a multi-threaded BLAS would fight over the cores
    assert parallel.in_chunks(product, 0, 64) == []


@pytest.mark.parametrize(
    "rows, most, chunk",
    [(1, 64, 1), (2, 64, 1), (128, 200, 64), (128, 42, 32), (128, 21, 16), (300, 64, 50), (7, 2, 2), (9, 1, 1)],
)
def test_chunks_are_even_in_number_and_equal_in_size(rows, most, chunk):
    """Two cores get equal shares whatever the largest chunk allowed: at least two chunks, an even number
    of them, none over `most` rows (the last may be shorter)."""
    assert parallel.balanced_chunk(rows, most) == chunk
    chunks = -(-rows // chunk)
    assert chunk <= most and (rows == 1 or chunks % 2 == 0 or chunk == 1)


def test_shared_tasks_run_on_the_caller_too_and_come_back_in_order(threads):
    import time

    def task(i):
        time.sleep(0.002 * (i % 3))  # uneven: the threads take tasks as they come free
        return i, threading.get_ident()

    results = parallel.shared([lambda i=i: task(i) for i in range(12)])
    assert [i for i, _ in results] == list(range(12))
    ran_on = {ident for _, ident in results}
    assert threading.get_ident() in ran_on  # the caller works instead of waiting
    assert len(ran_on) <= threads
    assert parallel.shared([]) == []


def test_a_failing_task_stops_the_others_and_reaches_the_caller(threads):
    started = []

    def task(i):
        started.append(i)
        if i == 2:
            raise ValueError("task 2")
        return i

    with pytest.raises(ValueError, match="task 2"):
        parallel.shared([lambda i=i: task(i) for i in range(200)])
    count = len(started)
    assert count < 200  # no task is taken once one has failed (at most one in flight per thread)
    parallel.shared([lambda: None] * 4)  # the pool still works, and the failed call's threads are done:
    assert len(started) == count


def test_a_convolution_is_bit_identical_on_one_and_two_threads(monkeypatch):
    """Conv2D's training step runs in chunks of samples shared between the threads; its gradients are
    summed in chunk order, so the thread count changes no bit; and they are the whole batch's (one chunk)
    within float32 rounding."""
    import minidl
    from minidl.layers import conv

    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 12, 12, 16)).astype(np.float32)
    g = rng.standard_normal((40, 10, 10, 24)).astype(np.float32)
    results = []
    before = parallel.get_num_threads()
    try:
        for count, chunk_bytes in ((1, 4 * 100 * 144 * 4), (2, 4 * 100 * 144 * 4), (2, 1 << 40)):
            # 4 samples a chunk (10x10 windows of 144 floats each): 10 chunks; then the whole batch at once
            monkeypatch.setattr(conv, "CHUNK_COLS_BYTES", chunk_bytes)
            parallel.set_num_threads(count)
            layer = minidl.layers.Conv2D(24, 3, kernel_initializer=minidl.initializers.GlorotUniform(seed=3))
            layer.build(x.shape)
            layer.need_input_grad = True
            y = layer.forward(x, training=True)
            dx = layer.backward(g)
            results.append((y, dx, layer.grads["kernel"].copy(), layer.grads["bias"].copy()))
        kernel = np.abs(layer.params["kernel"].astype(np.float64)).reshape(144, 24)
    finally:
        parallel.set_num_threads(before)
    # float32 sums of n terms in any order: |error| <= n eps sum|terms| each, so two orders differ by twice that
    windows = np.lib.stride_tricks.sliding_window_view(np.abs(x.astype(np.float64)), (3, 3), axis=(1, 2))
    cols = windows.transpose(0, 1, 2, 4, 5, 3).reshape(4000, 144)  # every output's window (the im2col)
    eps, g2d = np.finfo(np.float32).eps, np.abs(g.reshape(4000, 24))
    bounds = (
        2 * 144 * eps * (cols @ kernel).reshape(y.shape),  # y: 3x3x16 products each
        2 * 216 * eps * 216 * g2d.max() * kernel.max(),  # dL/dx: up to 9 offsets x 24 filters
        2 * 4000 * eps * (cols.T @ g2d).reshape(3, 3, 16, 24),  # dL/dkernel: 40 samples x 10x10 positions
        2 * 4000 * eps * g2d.sum(axis=0),  # dL/dbias
    )
    for one, two, whole, bound in zip(*results, bounds):
        np.testing.assert_array_equal(one, two)
        assert (np.abs(two.astype(np.float64) - whole) <= bound).all()


def test_batch_normalization_in_chunks_is_bit_identical_on_one_and_two_threads(monkeypatch):
    """BatchNormalization's training passes go over chunks of samples on the threads; its per-chunk
    sums are added in chunk order, so the thread count changes no bit; and the chunks give the whole
    batch's values within float32 rounding."""
    import minidl
    from minidl.layers import normalization

    rng = np.random.default_rng(4)
    x = (3 + 2 * rng.standard_normal((40, 6, 6, 16))).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    results = []
    before = parallel.get_num_threads()
    try:
        for count, chunk_bytes in ((1, 3 * 6 * 6 * 16 * 4), (2, 3 * 6 * 6 * 16 * 4), (2, 1 << 40)):
            monkeypatch.setattr(normalization, "CHUNK_BYTES", chunk_bytes)  # 3 samples a chunk: 14 chunks
            parallel.set_num_threads(count)
            gamma = minidl.initializers.RandomNormal(seed=5)
            layer = minidl.layers.BatchNormalization(gamma_initializer=gamma)
            layer.build(x.shape)
            layer.need_input_grad = True
            y = layer.forward(x, training=True)
            dx = layer.backward(g)
            results.append((y, dx, layer.grads["gamma"].copy(), layer.grads["beta"].copy()))
    finally:
        parallel.set_num_threads(before)
    for one, two, whole in zip(*results):
        np.testing.assert_array_equal(one, two)
        # sums of m = 1440 values per channel in float32: a relative error of a few m eps at most
        scale = np.abs(whole).max()
        np.testing.assert_allclose(two, whole, rtol=0, atol=8 * 1440 * np.finfo(np.float32).eps * scale)
