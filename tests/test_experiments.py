"""Smoke runs (--quick: two epochs on a subset) of every experiment script, on the real data."""

import importlib
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MINIDL_NOTMNIST") or ROOT.parent / "shared/data/notMNIST.npz")

pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"notMNIST.npz not found at {DATA}")


def run_script(name: str, tmp_path: Path, *extra: str) -> dict:
    module = importlib.import_module(name)  # experiments/ is on pytest's pythonpath
    module.main(["--quick", "--data", str(DATA), "--out", str(tmp_path), "--verbose", "0", *extra])
    results = json.loads((tmp_path / "results.json").read_text())
    assert (tmp_path / "results.md").read_text().count("|") > 10
    return results


@pytest.mark.parametrize(
    "name, settings",
    [
        ("train_mlp", ["H=1000"]),
        ("hidden_units", ["H=100", "H=500", "H=1000", "H=2000"]),
    ],
)
def test_part1_scripts(name, settings, tmp_path):
    results = run_script(name, tmp_path)
    assert [run["setting"] for run in results["runs"]] == settings
    for run in results["runs"]:
        for split in ("train", "valid", "test"):
            assert len(run["curves"][split]["accuracy"]) == 2  # --quick trains two epochs
        assert 0.0 <= run["final"]["test_accuracy"] <= 1.0
        assert run["final"]["train_loss10"] == pytest.approx(run["final"]["train_loss"] / 10)
    assert len(list(tmp_path.glob("*_accuracy.png"))) == len(settings)
    assert len(list(tmp_path.glob("*_loss.png"))) == len(settings)
    # what the model gets right and wrong, and backprop at work in the H = 1000 run
    assert len(list(tmp_path.glob("*_confusion.png"))) == len(list(tmp_path.glob("*_mistakes.png"))) == len(settings)
    assert [p.name for p in tmp_path.glob("*_gradients.png")] == ["minidl_H_1000_gradients.png"]


def test_early_stopping_script(tmp_path):
    results = run_script("early_stopping", tmp_path, "--epochs", "4")
    settings = [run["setting"] for run in results["runs"]]
    assert settings[-1].startswith("EarlyStopping")
    assert any(s.startswith("min valid loss") for s in settings)


@pytest.mark.parametrize(
    "name, settings",
    [
        ("train_cnn", ["base CNN"]),
        ("l2_regularization", ["L2 0.01", "L2 0.1", "L2 0.5"]),
        ("dropout", ["dropout 0.9", "dropout 0.75", "dropout 0.5"]),
        ("residual_cnn", ["seed CNN", "residual CNN"]),
    ],
)
def test_part2_scripts_both_frameworks(name, settings, tmp_path):
    pytest.importorskip("tensorflow")
    results = run_script(name, tmp_path)
    runs = results["runs"]
    assert [(r["setting"], r["framework"]) for r in runs] == [(s, f) for s in settings for f in ("keras", "minidl")]
    for run in runs:
        final = run["final"]
        assert set(final) >= {
            "train_loss",
            "train_accuracy",
            "valid_loss",
            "valid_accuracy",
            "test_loss",
            "test_accuracy",
        }
        assert len(run["curves"]["test"]["accuracy"]) == 2
    for picture in ("accuracy", "loss", "confusion", "mistakes"):
        assert len(list(tmp_path.glob(f"*_{picture}.png"))) == len(runs), picture
    for picture in ("filters", "feature_maps"):  # the minidl CNN's learned filters and one letter's maps
        assert len(list(tmp_path.glob(f"minidl_*_{picture}.png"))) == len(settings), picture


def test_frameworks_run_apart_share_one_table(tmp_path):
    """`--framework keras` and `--framework minidl` run separately fill one table in the same folder."""
    pytest.importorskip("tensorflow")
    run_script("train_cnn", tmp_path, "--framework", "keras")
    results = run_script("train_cnn", tmp_path, "--framework", "minidl")
    assert [(r["framework"], r["command"].split("--framework ")[1].split()[0]) for r in results["runs"]] == [
        ("keras", "keras"),
        ("minidl", "minidl"),
    ]
    other_seed = run_script("train_cnn", tmp_path, "--framework", "minidl", "--seed", "7")
    assert [r["framework"] for r in other_seed["runs"]] == ["minidl"]  # runs of another seed are not mixed in


def test_one_setting_rerun_keeps_the_others(tmp_path):
    """`--setting` trains one row; the table keeps the rows saved by earlier runs, in the script's order."""
    run_script("dropout", tmp_path, "--framework", "minidl", "--setting", "dropout 0.5")
    results = run_script("dropout", tmp_path, "--framework", "minidl", "--setting", "dropout 0.9")
    assert [r["setting"] for r in results["runs"]] == ["dropout 0.9", "dropout 0.5"]
    with pytest.raises(SystemExit):  # a setting the script does not have is refused by argparse
        run_script("dropout", tmp_path, "--setting", "dropout 0.3")


def test_hidden_units_over_seeds(tmp_path):
    """--seeds repeats every H per seed: the table gives mean ± sd, and each seed's runs are the runs
    that seed gives alone (same seed, same history)."""
    results = run_script("hidden_units", tmp_path / "both", "--seeds", "3", "4")
    assert [(r["setting"], r["seed"]) for r in results["runs"]] == [
        (f"H={h}", seed) for seed in (3, 4) for h in (100, 500, 1000, 2000)
    ]
    table = (tmp_path / "both" / "results.md").read_text()
    means, each_seed = table.split("Each seed:")
    assert " ± " in means and "| seed |" in each_seed and " ± " not in each_seed
    assert (tmp_path / "both" / "train_accuracy_by_hidden_units.png").exists()
    alone = run_script("hidden_units", tmp_path / "alone", "--seed", "4")
    assert [r["curves"] for r in alone["runs"]] == [r["curves"] for r in results["runs"] if r["seed"] == 4]


def test_scripts_write_to_an_ignored_folder_unless_recording():
    """A newcomer's first run leaves the checkout clean: out/<script> (git ignores out/); the committed
    reference results in experiments/results/ are written only with --record, and the table printed in
    the terminal fits 100 columns."""
    import subprocess

    from harness.config import ROOT as HARNESS_ROOT
    from harness.config import parse_args

    config = parse_args(str(ROOT / "experiments" / "hidden_units.py"), None, epochs=200, argv=["--epochs", "1"])
    assert config.out == HARNESS_ROOT / "out" / "hidden_units"
    recorded = parse_args(str(ROOT / "experiments" / "hidden_units.py"), None, epochs=200, argv=["--record"])
    assert recorded.out == HARNESS_ROOT / "experiments" / "results" / "hidden_units"
    if (ROOT / ".git").exists():
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", str(config.out / "results.md")], cwd=ROOT, check=False
        ).returncode
        assert ignored == 0, "out/ must be ignored by git"


def test_the_terminal_table_fits_100_columns(tmp_path, capsys):
    run_script("hidden_units", tmp_path)
    printed = capsys.readouterr().out
    table = printed[printed.index("setting ") : printed.index("every loss and difference in results.md")]
    assert max(len(line) for line in table.splitlines()) <= 100
    assert max(len(line) for line in (tmp_path / "results.md").read_text().splitlines()) > 100  # the wide one
