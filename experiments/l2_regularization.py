"""Report section 2.3.1 (L2 regularization): the CNN with an L2 kernel penalty lambda * sum(w**2) on both
Dense layers, lambda in 0.01, 0.1, 0.5, in Keras and in minidl."""

import harness

REPORT = {
    "L2 0.01": {
        "train_accuracy": 0.9852,
        "train_loss": 0.1882,
        "valid_accuracy": 0.9325,
        "valid_loss": 0.3671,
        "test_accuracy": 0.9269,
        "test_loss": 0.3849,
    },
    "L2 0.1": {
        "train_accuracy": 0.9309,
        "train_loss": 0.4840,
        "valid_accuracy": 0.9163,
        "valid_loss": 0.5207,
        "test_accuracy": 0.9203,
        "test_loss": 0.5215,
    },
    "L2 0.5": {
        "train_accuracy": 0.8878,
        "train_loss": 0.9251,
        "valid_accuracy": 0.8880,
        "valid_loss": 0.9438,
        "test_accuracy": 0.8943,
        "test_loss": 0.9298,
    },
}
LAMBDAS = (0.01, 0.1, 0.5)


def main(argv=None):
    settings = {f"L2 {lam}": {"l2": lam} for lam in LAMBDAS}
    return harness.part2_main(__file__, __doc__, "2.3.1 L2 regularization", settings, REPORT, argv)


if __name__ == "__main__":
    main()
