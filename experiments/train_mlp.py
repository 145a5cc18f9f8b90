"""Report section 1.3 (Learning): the one-hidden-layer MLP (H = 1000) trained for 200 epochs with
full-batch gradient descent with momentum; loss and accuracy on train, valid and test every epoch."""

import harness

REPORT = {
    "H=1000": {
        "train_accuracy": 0.9778,
        "test_accuracy": 0.9097,
        "valid_accuracy": 0.9125,
        "train_loss10": 0.0110,
        "test_loss10": 0.0340,
        "valid_loss10": 0.0308,
    }
}


def main(argv=None):
    config = harness.parse_args(__file__, __doc__, epochs=200, argv=argv, settings=list(REPORT))
    data = harness.load_notmnist(config.data, config.quick)
    (run,) = harness.sweep(config, lambda point: harness.train_seed_mlp(config, data, 1000, seed=point.seed))
    table = harness.results_table([run], REPORT, harness.PART1_COLUMNS)
    harness.write_results(config, "1.3 Learning: MLP, H = 1000", table, [run], REPORT, harness.PART1_NOTES)
    return run


if __name__ == "__main__":
    main()
