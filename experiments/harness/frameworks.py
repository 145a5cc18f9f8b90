"""The two frameworks side by side: Keras's import (TensorFlow backend), seeding, thread limits."""

from __future__ import annotations

import os

import minidl


def import_keras():
    """Keras 3 on the TensorFlow backend (Keras's NumPy backend cannot fit)."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    if os.environ.get("MINIDL_TF_THREADS"):
        import tensorflow as tf

        threads = int(os.environ["MINIDL_TF_THREADS"])
        if tf.config.threading.get_intra_op_parallelism_threads() != threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(f"the experiments need Keras's TensorFlow backend, got {keras.backend.backend()!r}")
    return keras


def seed_everything(framework: str, seed: int) -> None:
    if framework == "keras":
        keras = import_keras()
        import tensorflow as tf

        keras.utils.set_random_seed(seed)  # initial weights and dropout masks: Keras's own SeedGenerator
        # With TensorFlow's global seed set, Keras 3 (TF backend) fit(x, y, shuffle=True) repeats its first
        # epoch's permutation in every epoch: the shuffle is traced once into a tf.data pipeline whose
        # random op restarts from the same seed at each epoch. Unset it so that Keras reshuffles every
        # epoch, as its documentation says and as the report's runs did; the price is that Keras's epoch
        # order (not its weights or masks) differs from run to run. (tests/test_keras_shuffle.py shows both.)
        tf.random.set_seed(None)
    minidl.set_seed(seed)


def limit_threads(threads: int) -> None:
    """Use `threads` threads in NumPy's BLAS, in minidl's element-wise work and in TensorFlow (set before
    TensorFlow starts)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise SystemExit(
            "--threads needs threadpoolctl to limit NumPy's BLAS: pip install threadpoolctl "
            '(it comes with pip install -e ".[test]" or ".[bench]")'
        ) from None
    threadpool_limits(threads)
    minidl.set_num_threads(threads)
    os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = str(threads)
    os.environ["MINIDL_TF_THREADS"] = str(threads)
