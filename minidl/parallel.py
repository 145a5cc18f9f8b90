"""Element-wise work in cache-sized blocks, on every core.

An element-wise expression such as Adam's update or BatchNormalization's `x * s + t` makes NumPy pass
over memory once per operation, each time writing a full-size temporary. Run block by block, a block's
temporaries stay in the CPU cache, so the whole expression costs about one pass over each array. And
NumPy releases the GIL inside its loops, so blocks handed to a few threads run on all cores at once.

    blockwise(kernel, a, b, ...)   calls kernel(a_block, b_block, ...) on matching blocks of the arrays'
                                   first axis; the kernel writes its results into its blocks in place.

Element-wise kernels give bit-identical results however the arrays are cut.

    in_chunks(work, rows, chunk_rows)   calls work(start, stop) on consecutive chunks of rows on every
                                   core, each call's BLAS products on one thread (the cores already busy
                                   with the chunks), and returns the calls' results in chunk order.

Called from inside such a block or chunk (a layer's work inside another's chunk), both run on the
calling thread. Both share their blocks or chunks out with

    shared(tasks)                  runs the tasks on the calling thread and the pool's threads, each
                                   taking the next task when it is free; the results in task order.

    scratch(name, shape, dtype)    a buffer for the calling thread's work, kept for its next call: the
                                   large temporaries of a chunk (a convolution's im2col) are written
                                   into memory already mapped instead of memory freshly allocated.

A chunk's temporaries of a megabyte or so, allocated and freed on the pool's threads, go to glibc's
per-thread arenas, which hand their free top back to the kernel at once (trim) and take page faults on
every first touch of the next chunk's: 15,000 faults and 2.2-2.7x the time of a convolution's training
step on this kind of VM (benchmarks/README.md). Reused buffers take none.
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np

BLOCK = 1 << 17  # elements of the first array per block: 512 KiB in float32, in L2/L3. Smaller blocks cost
# more in Python calls than they gain in cache (measured in benchmarks/README.md).
PARALLEL_MIN = 1 << 18  # below this many elements, a thread hand-off costs more than it saves
SCRATCH_KEPT_MAX = 64 << 20  # bytes: larger scratch arrays are made for each call (see scratch)


def _default_threads() -> int:
    """$MINIDL_NUM_THREADS if set, else the cores this process may run on."""
    value = os.environ.get("MINIDL_NUM_THREADS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"MINIDL_NUM_THREADS must be a positive integer, got {value!r}")
        return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


_threads = _default_threads()
_pool: ThreadPoolExecutor | None = None
_thread_state = threading.local()  # .is_worker: this thread is one of the pool's; .buffers: scratch's


def _mark_worker() -> None:
    _thread_state.is_worker = True


def _splits_work() -> bool:
    """Whether work may be split between threads here: not inside one of the pool's own tasks (a task
    waiting for tasks queued behind it would wait for ever when every worker does the same)."""
    return _threads > 1 and not getattr(_thread_state, "is_worker", False)


def set_num_threads(threads: int) -> None:
    """Threads for minidl's element-wise work (default: the usable cores, or $MINIDL_NUM_THREADS).
    NumPy's BLAS has its own setting (e.g. threadpoolctl.threadpool_limits)."""
    global _threads, _pool
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"set_num_threads: threads must be a positive integer, got {threads!r}")
    if threads != _threads and _pool is not None:
        _pool.shutdown()
        _pool = None
    _threads = threads


def get_num_threads() -> int:
    return _threads


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=_threads, thread_name_prefix="minidl", initializer=_mark_worker)
    return _pool


def blockwise(kernel: Callable[..., None], *arrays: np.ndarray, block: int | None = BLOCK) -> None:
    """Call `kernel(*blocks)` on matching blocks (slices of the first axis) of the arrays, which must
    share their first dimension; the kernel updates its blocks in place. A block holds about `block`
    elements of the first array (None: one block per thread, for a kernel of a single operation);
    arrays of PARALLEL_MIN elements or more are split between threads."""
    first = arrays[0]
    if first.ndim == 0 or not all(a.flags.c_contiguous and a.shape[:1] == first.shape[:1] for a in arrays):
        kernel(*arrays)  # blocks must be views of matching rows, or the kernel's writes would be lost
        return
    rows = first.shape[0]
    workers = min(_threads, rows) if first.size >= PARALLEL_MIN and _splits_work() else 1
    block_rows = max(block // max(first.size // max(rows, 1), 1) if block else -(-rows // workers), 1)

    def run(lo: int, hi: int) -> None:
        for start in range(lo, hi, block_rows):
            stop = min(start + block_rows, hi)
            kernel(*(a[start:stop] for a in arrays))

    if workers <= 1:
        run(0, rows)
        return
    per_worker = -(-rows // (workers * block_rows)) * block_rows  # whole blocks per worker
    shared([functools.partial(run, lo, min(lo + per_worker, rows)) for lo in range(0, rows, per_worker)])


def scratch(name: str, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array of `shape` and `dtype` for the calling thread, in memory kept
    under `name` and reused by its next call with that name (grown when a call needs more): valid until
    then, so never returned from the work that takes it. Each name is used by one kind of step at a time.
    Arrays over SCRATCH_KEPT_MAX bytes are not kept (one call on huge inputs holds no memory after it)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    if nbytes > SCRATCH_KEPT_MAX:
        return np.empty(shape, dtype)
    buffers = _thread_state.__dict__.setdefault("buffers", {})
    memory = buffers.get(name)
    if memory is None or memory.nbytes < nbytes:
        memory = buffers[name] = np.empty(nbytes, dtype=np.uint8)
    return memory[:nbytes].view(dtype).reshape(shape)


def per_position(values: np.ndarray, sample_shape: tuple) -> np.ndarray:
    """`values` (broadcastable to one sample, e.g. a (C,) bias) repeated over a sample's positions and
    flattened, (L,) for samples of L values: x.reshape(N, L) op it == x op values, but NumPy's inner
    loops then run over whole samples instead of C values at a time (faster: benchmarks/README.md)."""
    return np.broadcast_to(values, sample_shape).reshape(-1)


def per_position_rows(values: np.ndarray) -> Callable[[tuple], np.ndarray]:
    """per_position(values, sample_shape) as a function of sample_shape, each row made once: for a map
    called on many chunks of samples."""
    return functools.lru_cache(maxsize=None)(functools.partial(per_position, values))


_blas: Any = None  # threadpoolctl's controller of NumPy's BLAS, made on first use (it scans the loaded libraries)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """NumPy's BLAS on one thread inside the block (threadpoolctl; its setting is process-wide), for
    products that run on several of minidl's threads at once: two threads each calling a 2-thread BLAS
    would fight over the cores."""
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController().select(user_api="blas")
    with _blas.limit(limits=1):
        yield


def balanced_chunk(rows: int, chunk_rows: int) -> int:
    """Rows per chunk, at most `chunk_rows`, in an even number of equal chunks (at least two if there are
    two rows): two cores get equal shares. The same chunks on any number of threads, so the same sums."""
    if rows <= 1:
        return 1
    chunks = max(-(-rows // max(chunk_rows, 1)), 2)
    return -(-rows // (chunks + chunks % 2))


def in_chunks(work: Callable[[int, int], Any], rows: int, chunk_rows: int) -> list:
    """[work(0, c), work(c, 2c), ...] over `rows` rows in chunks of c <= chunk_rows rows: the chunks shared
    between minidl's threads, each chunk's BLAS products on one thread. The results come back in chunk
    order whatever the threads, so a sum over them is the same with 1 or 2 threads."""
    chunk = balanced_chunk(rows, chunk_rows)
    bounds = [(start, min(start + chunk, rows)) for start in range(0, rows, chunk)]
    if not _splits_work() or len(bounds) <= 1:
        return [work(start, stop) for start, stop in bounds]
    with one_blas_thread():
        return shared([functools.partial(work, start, stop) for start, stop in bounds])


def shared(tasks: list[Callable[[], Any]]) -> list:
    """[task() for task in tasks], the tasks taken in turn by the calling thread and by the pool's threads
    (as many in all as minidl's threads), each as soon as it is free. The caller works instead of waiting,
    hands work to the pool once per thread rather than once per task, and returns when the last task is
    done, without waiting for a helper that found none left (each hand-off wakes a sleeping thread: tens
    of microseconds on this kind of VM, benchmarks/README.md). Work nested in a task runs on its thread.
    The results come back in task order, whichever thread ran each."""
    if len(tasks) <= 1 or not _splits_work():
        return [task() for task in tasks]
    results: list = [None] * len(tasks)
    take = itertools.count().__next__  # atomic under the GIL: each task is taken once
    left, lock, all_done = [len(tasks)], threading.Lock(), threading.Event()
    failed: list[BaseException] = []

    def take_tasks() -> None:
        i = take()
        while i < len(tasks) and not failed:
            try:
                results[i] = tasks[i]()
            except BaseException as error:  # the others stop taking tasks; the caller raises it
                failed.append(error)
                all_done.set()
                return
            with lock:
                left[0] -= 1
                if left[0] == 0:
                    all_done.set()
            i = take()

    helpers = [_executor().submit(take_tasks) for _ in range(min(_threads, len(tasks)) - 1)]
    was_worker = getattr(_thread_state, "is_worker", False)
    _thread_state.is_worker = True
    try:
        take_tasks()
    finally:
        _thread_state.is_worker = was_worker
    all_done.wait()
    if failed:
        for helper in helpers:
            helper.result()  # none still writing into the arrays when the error reaches the caller
        raise failed[0]
    return results
