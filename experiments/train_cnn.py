"""Report section 2.2 (Model training): the CNN trained 50 epochs with Adam(1e-4), batch 32, in Keras and
in minidl with the identical fit/evaluate calls."""

import harness

REPORT = {"base CNN": {"test_accuracy": 0.9277, "test_loss": 0.4401}}


def main(argv=None):
    return harness.part2_main(__file__, __doc__, "2.2 CNN training", {"base CNN": {}}, REPORT, argv)


if __name__ == "__main__":
    main()
