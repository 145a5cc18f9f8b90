"""Shared test setup: Keras on TensorFlow (when installed), float32 restored after every test."""

from __future__ import annotations

import os

# Before anything imports keras (the equivalence tests import it lazily, via pytest.importorskip).
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out of the logs

import pytest

import minidl


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: longer tests (still run in CI)")


@pytest.fixture(autouse=True)
def restore_floatx():
    """Every test starts and ends in float32, even one that calls set_floatx("float64") and then fails.
    (Cheap: autouse fixtures here must stay that way.)"""
    minidl.set_floatx("float32")
    yield
    minidl.set_floatx("float32")


@pytest.fixture
def float64():
    """Run a test in float64 (restored to float32 afterwards by `restore_floatx`)."""
    minidl.set_floatx("float64")
    yield "float64"


@pytest.fixture
def keras_float64():
    """Keras in float64 (its losses, metrics, optimiser variables and data adapters follow floatx)."""
    keras = pytest.importorskip("keras")
    previous, previous_policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")  # the global policy, once read, no longer follows floatx
    yield
    keras.config.set_floatx(previous)
    keras.config.set_dtype_policy(previous_policy)
