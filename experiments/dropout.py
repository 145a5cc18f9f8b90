"""Report section 2.3.2 (Dropout): the CNN with Dropout(p) after Dense(784), p in 0.9, 0.75, 0.5 (Keras's
meaning: p is the fraction of units dropped), in Keras and in minidl."""

import harness

REPORT = {
    "dropout 0.9": {
        "train_accuracy": 0.9652,
        "train_loss": 0.1076,
        "valid_accuracy": 0.9381,
        "valid_loss": 0.2698,
        "test_accuracy": 0.9369,
        "test_loss": 0.2731,
    },
    "dropout 0.75": {
        "train_accuracy": 0.9933,
        "train_loss": 0.0258,
        "valid_accuracy": 0.9375,
        "valid_loss": 0.3692,
        "test_accuracy": 0.9325,
        "test_loss": 0.3905,
    },
    "dropout 0.5": {
        "train_accuracy": 0.9977,
        "train_loss": 0.0094,
        "valid_accuracy": 0.9335,
        "valid_loss": 0.4470,
        "test_accuracy": 0.9306,
        "test_loss": 0.4787,
    },
}
RATES = (0.9, 0.75, 0.5)


def main(argv=None):
    settings = {f"dropout {p}": {"dropout": p} for p in RATES}
    return harness.part2_main(__file__, __doc__, "2.3.2 Dropout", settings, REPORT, argv)


if __name__ == "__main__":
    main()
