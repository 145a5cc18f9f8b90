"""Report section 1.4.1 (Number of hidden units): the MLP of 1.3 with H = 100, 500, 1000 and 2000
hidden units, 200 epochs each. Expected trend: more units, higher training accuracy.

One seed by default (--seed, 1); `--seeds 0 1 2` repeats every H with each seed and reports the mean and
standard deviation, since a single full-batch run with momentum 0.99 can lose epochs to a transient bump."""

import harness

REPORT = {
    "H=100": {
        "train_accuracy": 0.9536,
        "test_accuracy": 0.9020,
        "valid_accuracy": 0.8997,
        "train_loss10": 0.0178,
        "test_loss10": 0.0373,
        "valid_loss10": 0.0355,
    },
    "H=500": {
        "train_accuracy": 0.9705,
        "test_accuracy": 0.9086,
        "valid_accuracy": 0.9067,
        "train_loss10": 0.0128,
        "test_loss10": 0.0351,
        "valid_loss10": 0.0323,
    },
    "H=1000": {
        "train_accuracy": 0.9778,
        "test_accuracy": 0.9097,
        "valid_accuracy": 0.9125,
        "train_loss10": 0.0110,
        "test_loss10": 0.0340,
        "valid_loss10": 0.0308,
    },
    "H=2000": {
        "train_accuracy": 0.9818,
        "test_accuracy": 0.9115,
        "valid_accuracy": 0.9105,
        "train_loss10": 0.0103,
        "test_loss10": 0.0336,
        "valid_loss10": 0.0312,
    },
}
HIDDEN_UNITS = {f"H={h}": h for h in (100, 500, 1000, 2000)}


def main(argv=None):
    config = harness.parse_args(__file__, __doc__, epochs=200, argv=argv, seeds=True, settings=list(HIDDEN_UNITS))
    data = harness.load_notmnist(config.data, config.quick)
    runs = harness.sweep(
        config, lambda point: harness.train_seed_mlp(config, data, HIDDEN_UNITS[point.setting], seed=point.seed)
    )
    means = harness.mean_over_seeds(runs)
    table = harness.results_table(means, REPORT, harness.PART1_COLUMNS)
    if len(config.seeds) > 1:
        table += "\n\nEach seed:\n\n" + harness.results_table(runs, REPORT, harness.PART1_COLUMNS)
    train_accuracy = [run.final["train_accuracy"] for run in means]
    trend = all(a < b for a, b in zip(train_accuracy, train_accuracy[1:]))
    notes = (
        f"{harness.PART1_NOTES} Seeds: {', '.join(map(str, config.seeds))}"
        + (" (cells: mean ± standard deviation over the seeds)" if len(config.seeds) > 1 else "")
        + f". Trend 'more units, higher train accuracy': {'holds' if trend else 'does not hold'} "
        f"({', '.join(f'{run.setting}: {a:.4f}' for run, a in zip(means, train_accuracy))})."
    )
    harness.plot_settings(
        runs,
        "train",
        "accuracy",
        f"Train accuracy by hidden units, seed(s) {', '.join(map(str, config.seeds))}",
        config.out / "train_accuracy_by_hidden_units.png",
    )
    harness.write_results(config, "1.4.1 Number of hidden units", table, runs, REPORT, notes)
    return runs


if __name__ == "__main__":
    main()
