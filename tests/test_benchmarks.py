"""The benchmark's smoke run: it must run end to end and write its table (no timing assertions)."""

import json

import pytest


def test_benchmark_quick_runs(tmp_path):
    pytest.importorskip("tensorflow")
    import run  # benchmarks/run.py: benchmarks/ is on pytest's pythonpath

    results = run.main(["--quick", "--out", str(tmp_path)])
    for row in ("mlp_epoch", "cnn_epoch", "mlp_predict", "cnn_predict", "adam_update"):
        assert results[row]["minidl"]["best"] > 0 and results[row]["keras"]["best"] > 0
    assert results["mlp_epoch"]["floor"]["best"] > 0
    for workload in ("seed MLP", "seed CNN", *run.EVERYDAY_MODELS):  # the memory column, both frameworks
        assert results["peak_rss_mib"][workload]["minidl"] > 0 and results["peak_rss_mib"][workload]["keras"] > 0
    assert "minidl / Keras" in (tmp_path / "results.md").read_text()
    assert json.loads((tmp_path / "results.json").read_text())["results"]["cnn_epoch"]
    for model in run.EVERYDAY_MODELS:  # the models people write, each against Keras
        assert results[f"{model} epoch"]["minidl"]["best"] > 0 and results[f"{model} predict"]["keras"]["best"] > 0


def test_layer_profile_runs(capsys):
    import layers  # benchmarks/layers.py

    layers.main(["--repeats", "1"])
    out = capsys.readouterr().out
    for name in ("conv2d", "batch_normalization", "max_pooling2d", "dense", "optimizer update", "memory traffic"):
        assert name in out


def test_choices_run(capsys):
    import choices  # benchmarks/choices.py

    choices.main(["--repeats", "1"])
    out = capsys.readouterr().out
    rows = [line.rsplit(maxsplit=2) for line in out.splitlines()[1:]]
    assert all(float(ms) > 0 and float(ratio) > 0 for _, ms, ratio in rows)
    # each group's last row is the reference its ratios are taken to
    assert sum(ratio == "1.00" for _, _, ratio in rows) >= len(choices.GROUPS)
    assert out.count("(minidl)") == len(choices.GROUPS) - 1  # every group but GradientStats' (a cost, not a choice)
    assert "GradientStats" in out


def test_scaling_quick_runs(tmp_path):
    pytest.importorskip("tensorflow")
    import run  # benchmarks/run.py

    results = run.main(["--scaling", "--quick", "--out", str(tmp_path)])
    assert {"mlp batch 1", "mlp batch 256", "mlp hidden 200", "convnet batch 32"} <= set(results)
    for row in results.values():
        assert all(row[contender]["best"] > 0 for contender in ("minidl", "keras", "floor"))
    assert (tmp_path / "scaling.png").stat().st_size > 10_000
    assert "| mlp batch 8 |" in (tmp_path / "scaling.md").read_text()
