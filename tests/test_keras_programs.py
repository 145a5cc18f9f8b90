"""Keras programs (tests/keras_programs/) run in Keras and, with only their imports changed, in minidl:
the results both print agree within each program's stated tolerances."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).resolve().parent / "keras_programs"
NAMES = sorted(p.stem for p in PROGRAMS.glob("*.py") if p.stem != "notmnist_data")
DATA = Path(os.environ.get("MINIDL_NOTMNIST") or Path(__file__).resolve().parents[2] / "shared/data/notMNIST.npz")
pytest.importorskip("tensorflow")


def with_minidl_imports(source: str) -> str:
    """The program with only its import lines changed: `import keras` -> `import minidl as keras`,
    `from keras import x` / `from keras.y import x` -> `from minidl[.y] import x`."""
    source = re.sub(r"^import keras$", "import minidl as keras", source, flags=re.M)
    return re.sub(r"^from keras(\.[\w.]+)? import", r"from minidl\1 import", source, flags=re.M)


def run(source: str) -> dict:
    env = {
        **os.environ,
        # the programs' folder (their data helper), then this checkout (its minidl, whatever is installed)
        "PYTHONPATH": os.pathsep.join([str(PROGRAMS), str(PROGRAMS.parents[1])]),
        "MINIDL_NOTMNIST": str(DATA),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "KERAS_BACKEND": "tensorflow",
    }
    done = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, env=env, timeout=600, cwd=PROGRAMS
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULTS "))
    return json.loads(line.removeprefix("RESULTS "))


def tolerances(source: str) -> dict:
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "TOLERANCES":
            return ast.literal_eval(node.value)
    raise AssertionError("the program states no TOLERANCES")


@pytest.mark.skipif(not DATA.exists(), reason=f"notMNIST.npz not found at {DATA}")
@pytest.mark.parametrize("name", NAMES)
def test_program_runs_unchanged_in_minidl(name):
    source = (PROGRAMS / f"{name}.py").read_text()
    ours_source = with_minidl_imports(source)
    changed = [(a, b) for a, b in zip(source.splitlines(), ours_source.splitlines()) if a != b]
    assert changed and all(a.startswith(("import keras", "from keras")) for a, _ in changed)
    theirs, ours = run(source), run(ours_source)
    for key, tolerance in tolerances(source).items():
        kind, bound = tolerance if isinstance(tolerance, tuple) else ("absolute", tolerance)
        difference = abs(ours[key] - theirs[key]) / (abs(theirs[key]) if kind == "relative" else 1)
        assert difference <= bound, f"{name}: {key} minidl {ours[key]:.4f}, Keras {theirs[key]:.4f}"


def test_the_import_rewrite_changes_imports_only():
    source = "import keras\nfrom keras import layers\nfrom keras.optimizers import schedules\nx = keras.Input((3,))\n"
    assert with_minidl_imports(source) == (
        "import minidl as keras\nfrom minidl import layers\n"
        "from minidl.optimizers import schedules\nx = keras.Input((3,))\n"
    )
