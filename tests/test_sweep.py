"""Sweeps on Optuna (experiments/harness/sweep.py): every grid point completed exactly once, with two
worker processes on SQLite and on a real PostgreSQL server, a worker killed with SIGKILL and the sweep
resumed to the numbers of an uninterrupted run, --rerun, and bad input refused before any training."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from test_experiments import DATA, ROOT, run_script

from harness.sweep import rdb_storage

optuna = pytest.importorskip("optuna")
pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"notMNIST.npz not found at {DATA}")

HIDDEN_UNITS = ["H=100", "H=500", "H=1000", "H=2000"]
ENV = {**os.environ, "MINIDL_NOTMNIST": str(DATA), "MINIDL_SWEEP_HEARTBEAT": "2", "MPLBACKEND": "Agg"}


def sweep_command(script: str, out: Path, *extra: str) -> list[str]:
    """The command line a user types for a quick sweep."""
    script_file = str(ROOT / "experiments" / f"{script}.py")
    return [sys.executable, script_file, "--quick", "--out", str(out), "--verbose", "0", *extra]


def open_storage(url: str):
    """The storage as the sweep opens it: a read while a sweep is still creating the tables of a new
    database loses that race like a third worker would, and tries again."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return rdb_storage(optuna, url)


def load(storage: str, name: str):
    return optuna.load_study(study_name=name, storage=open_storage(storage))


def completions(study) -> Counter:
    """How many trials completed each grid point."""
    return Counter(
        (t.params["setting"], t.params["seed"]) for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE
    )


def run_sweep(script: str, out: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        sweep_command(script, out, *extra), env=ENV, cwd=ROOT, check=check, capture_output=True, text=True
    )


def curves_and_finals(out: Path) -> list:
    runs = json.loads((out / "results.json").read_text())["runs"]
    return [(r["setting"], r["seed"], r["final"], r["curves"]) for r in runs]


def test_two_workers_complete_every_point_once_on_sqlite(tmp_path):
    run_sweep("hidden_units", tmp_path, "--seeds", "0", "1", "--workers", "2")
    study = load(f"sqlite:///{tmp_path / 'study.db'}", "hidden_units-2-epochs-quick")
    assert completions(study) == Counter({(s, seed): 1 for s in HIDDEN_UNITS for seed in (0, 1)})
    assert len({t.user_attrs["worker"] for t in study.trials}) == 2  # both workers trained
    assert [(r[0], r[1]) for r in curves_and_finals(tmp_path)] == [(s, seed) for seed in (0, 1) for s in HIDDEN_UNITS]


def test_two_machines_share_a_sweep_on_postgresql(tmp_path):
    """Two invocations at once (as on two machines), each with two workers, one PostgreSQL study: they
    split the grid, every point completes once, and each ends with the whole table. .ci/run starts the
    server in a temporary folder and gives its URL here."""
    url = os.environ.get("MINIDL_TEST_POSTGRES")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must start PostgreSQL and set MINIDL_TEST_POSTGRES (see .ci/run)")
        pytest.skip("no PostgreSQL server: set MINIDL_TEST_POSTGRES=postgresql://user@host:port/db")
    name = f"hidden_units-{uuid.uuid4().hex[:8]}"
    flags = ("--seeds", "0", "1", "--workers", "2", "--storage", url, "--study", name)
    logs = {machine: tmp_path / f"{machine}.log" for machine in ("a", "b")}
    machines = [
        subprocess.Popen(
            sweep_command("hidden_units", tmp_path / machine, *flags),
            env=ENV,
            cwd=ROOT,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        for machine, log in logs.items()
    ]
    codes = [machine.wait(timeout=600) for machine in machines]
    assert codes == [0, 0], "\n".join(log.read_text()[-3000:] for log in logs.values())
    study = load(url, name)
    assert completions(study) == Counter({(s, seed): 1 for s in HIDDEN_UNITS for seed in (0, 1)})
    tables = [curves_and_finals(tmp_path / machine) for machine in ("a", "b")]
    assert tables[0] == tables[1] and len(tables[0]) == 8
    assert not (tmp_path / "a" / "study.db").exists()  # the study lives in the server


def test_a_killed_worker_is_retried_and_the_sweep_resumes_to_the_same_numbers(tmp_path):
    epochs = ["--epochs", "60"]  # long enough to be killed in the middle of a trial
    run_sweep("hidden_units", tmp_path / "uninterrupted", "--workers", "2", *epochs)
    out = tmp_path / "killed"
    out.mkdir()
    sweep = subprocess.Popen(
        sweep_command("hidden_units", out, "--workers", "2", *epochs),
        env=ENV,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    storage, name = f"sqlite:///{out / 'study.db'}", "hidden_units-60-epochs-quick"
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline and sweep.poll() is None:
        time.sleep(0.2)
        if (out / "study.db").exists() and name in optuna.get_all_study_names(open_storage(storage)):
            running = load(storage, name).get_trials(states=(optuna.trial.TrialState.RUNNING,))
            # the longest run (seconds; the others may end before the kill lands)
            victim = next((t for t in running if "worker" in t.user_attrs and t.params["setting"] == "H=2000"), None)
    assert victim is not None, "no trial was seen running"
    os.kill(int(victim.user_attrs["worker"].split(":")[1]), signal.SIGKILL)
    printed, _ = sweep.communicate(timeout=300)
    assert "was killed by signal 9" in printed

    again = run_sweep("hidden_units", out, "--workers", "2", *epochs)  # the restart: nothing left to train
    assert "epochs, seed" not in again.stdout
    study = load(storage, name)
    killed = study.trials[victim.number]
    assert killed.state == optuna.trial.TrialState.FAIL
    assert completions(study) == Counter({(s, 1): 1 for s in HIDDEN_UNITS})  # none twice, none lost
    assert curves_and_finals(out) == curves_and_finals(tmp_path / "uninterrupted")  # same seeds, same numbers


def test_completed_runs_are_not_recomputed_unless_rerun(tmp_path, capsys):
    first = run_script("train_mlp", tmp_path)
    second = run_script("train_mlp", tmp_path)
    assert "epochs, seed" not in capsys.readouterr().out.split("[train_mlp] wrote")[1]
    assert second["runs"] == first["runs"]
    run_script("train_mlp", tmp_path, "--rerun")
    study = load(f"sqlite:///{tmp_path / 'study.db'}", "train_mlp-2-epochs-quick")
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]  # the old trial kept, a new one


def test_bad_input_is_refused_before_any_training(tmp_path, capsys):
    with pytest.raises(SystemExit, match="cannot open the study storage postgresql://nobody@127.0.0.1:9/"):
        run_script("train_mlp", tmp_path / "unreachable", "--storage", "postgresql://nobody@127.0.0.1:9/none")
    assert not (tmp_path / "unreachable" / "results.json").exists()

    run_script("hidden_units", tmp_path)
    storage, name = f"sqlite:///{tmp_path / 'study.db'}", "hidden_units-2-epochs-quick"
    before = [(t.number, t.state, t.params, t.user_attrs) for t in load(storage, name).trials]
    with pytest.raises(SystemExit, match="made for another grid .*script: study 'hidden_units', this run 'train_mlp'"):
        run_script("train_mlp", tmp_path / "other", "--storage", storage, "--study", name)
    after = load(storage, name)
    assert [(t.number, t.state, t.params, t.user_attrs) for t in after.trials] == before
    assert after.user_attrs["identity"]["script"] == "hidden_units"

    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        run_script("hidden_units", tmp_path / "zero", "--workers", "0")
    assert exit_info.value.code == 2 and "--workers must be at least 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "zero" / "study.db").exists()


def test_without_optuna_the_grid_runs_serially(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna now raises ImportError
    results = run_script("hidden_units", tmp_path)
    assert [r["setting"] for r in results["runs"]] == HIDDEN_UNITS
    assert 'pip install -e ".[sweep]"' in capsys.readouterr().out
    assert not (tmp_path / "study.db").exists()
    with pytest.raises(SystemExit, match="need Optuna"):
        run_script("hidden_units", tmp_path, "--workers", "2")


def test_tune_searches_prunes_resumes_and_tests_once(tmp_path):
    tune = importlib.import_module("tune")
    argv = ["mlp", "--quick", "--trials", "6", "--epochs", "12", "--data", str(DATA), "--out", str(tmp_path)]
    results = tune.main([*argv, "--verbose", "0"])
    assert set(results) == {"best of the search", "report"}
    for _params, epochs, valid, test in results.values():
        assert 1 <= epochs <= 12 and 0 < valid["accuracy"] <= 1 and 0 < test["accuracy"] <= 1
    table = (tmp_path / "tuning.md").read_text()
    assert (
        "| best of the search |" in table
        and "| report | learning_rate 0.05, momentum 0.99, hidden_units 1000 |" in table
    )
    assert (tmp_path / "mlp_optimization_history.png").exists()
    study = load(f"sqlite:///{tmp_path / 'study.db'}", "tune-12-epochs-quick")
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == len(study.trials) == 6
    assert study.best_trial.params == results["best of the search"][0]
    tune.main([*argv, "--verbose", "0"])  # the study has its six trials: nothing more is searched
    assert len(load(f"sqlite:///{tmp_path / 'study.db'}", "tune-12-epochs-quick").trials) == 6

    cnn = tune.main(
        ["cnn", "--quick", "--trials", "2", "--epochs", "2", "--data", str(DATA), "--out", str(tmp_path / "cnn")]
    )
    assert set(cnn) == {"best of the search", "report"}


def test_a_hopeless_trial_is_pruned_from_on_epoch_end():
    import numpy as np

    import minidl

    tune = importlib.import_module("tune")
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=0.0))  # every loss is hopeless
    trial = study.ask()
    model = minidl.Sequential([minidl.layers.Input((3,)), minidl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), np.float32), np.zeros((8, 1), np.float32)
    with pytest.raises(optuna.TrialPruned, match="epoch 1: val_loss"):
        model.fit(x, y, epochs=5, validation_data=(x, y), callbacks=[tune.PruneHopelessTrials(trial)], verbose=0)
    assert trial.study._storage.get_trial(trial._trial_id).intermediate_values.keys() == {0}
