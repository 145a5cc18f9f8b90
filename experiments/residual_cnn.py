"""Beyond the report: a residual CNN built with the functional API (Input, layers called on tensors, Add,
Model(inputs, outputs)) by the same code in Keras and in minidl, trained with the part-2 CNN's identical
fit/evaluate calls (Adam(1e-4), batch 32) on the seed's split, beside the seed CNN of 2.2."""

import harness

REPORT = {"seed CNN": {"test_accuracy": 0.9277, "test_loss": 0.4401}, "residual CNN": {}}


def main(argv=None):
    settings = {"seed CNN": {}, "residual CNN": {"residual": True}}
    return harness.part2_main(__file__, __doc__, "Residual CNN (functional API)", settings, REPORT, argv)


if __name__ == "__main__":
    main()
