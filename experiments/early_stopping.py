"""Report section 1.4.2 (Early stopping): where does validation stop improving? The MLP of 1.3
(H = 1000) trained for 200 epochs; read the curves for the best validation epoch and the states after
80 and 160 epochs (full-batch training is deterministic, so epoch 80 of this run is an 80-epoch run),
then let minidl's EarlyStopping callback (monitor val_loss, restore_best_weights) pick the stop."""

import numpy as np

import harness
import minidl

REPORT = {
    "stop at 80": {"train_accuracy": 0.9342, "test_accuracy": 0.9075, "valid_accuracy": 0.9050},
    "stop at 160": {"train_accuracy": 0.9671, "test_accuracy": 0.9108, "valid_accuracy": 0.9132},
    "200 epochs": {"train_accuracy": 0.9778, "test_accuracy": 0.9097, "valid_accuracy": 0.9125},
}
FIXED_STOPS = (80, 160)
PATIENCE = 30  # shorter patience stops inside the transient bumps of the first 70 epochs (see README)


def at_epoch(run: harness.Run, epoch: int, setting: str) -> harness.Run:
    """The run as it stood after `epoch` epochs (1-based), read from its curves."""
    final = {
        f"{split}_{key}": values[epoch - 1]
        for split, curve in run.curves.items()
        for key, values in curve.items()
        if len(values) >= epoch
    }
    return harness.Run(
        run.framework,
        setting,
        run.curves,
        harness.add_report_scale(final),
        run.seconds * epoch / run.epochs_run,
        epoch,
        run.command,
        run.seed,
    )


def train_with_early_stopping(config: harness.Config, data: harness.Data, setting: str, seed: int) -> harness.Run:
    """The run EarlyStopping ends, with the final values of the weights it restores (the best epoch's)."""
    stopper = minidl.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE, restore_best_weights=True)
    stopped = harness.train_seed_mlp(
        config, data, hidden_units=1000, validation=True, callbacks=(stopper,), setting=setting, seed=seed
    )
    for split in harness.SPLITS:  # the restored (best) weights, not the last epoch's
        values = stopped.model.evaluate(data.x[split], data.y[split], batch_size=2048, verbose=0, return_dict=True)
        stopped.final.update({f"{split}_loss": values["loss"], f"{split}_accuracy": values["accuracy"]})
    harness.add_report_scale(stopped.final)
    stopped.epochs_run = stopper.best_epoch + 1
    return stopped


def main(argv=None):
    early_stopping = f"EarlyStopping(val_loss, patience={PATIENCE})"
    config = harness.parse_args(__file__, __doc__, epochs=200, argv=argv, settings=["H=1000", early_stopping])
    data = harness.load_notmnist(config.data, config.quick)

    def train_point(point: harness.Point) -> harness.Run:
        if point.setting == early_stopping:
            return train_with_early_stopping(config, data, point.setting, point.seed)
        return harness.train_seed_mlp(config, data, hidden_units=1000, validation=True, seed=point.seed)

    full, stopped = harness.sweep(config, train_point)
    valid_loss, valid_acc = (np.array(full.curves["valid"][k]) for k in ("loss", "accuracy"))
    best_loss_epoch, best_acc_epoch = int(valid_loss.argmin()) + 1, int(valid_acc.argmax()) + 1
    rows = [at_epoch(full, e, f"stop at {e}") for e in FIXED_STOPS if e <= config.epochs]
    rows += [
        at_epoch(full, best_loss_epoch, f"min valid loss (epoch {best_loss_epoch})"),
        at_epoch(full, best_acc_epoch, f"max valid acc (epoch {best_acc_epoch})"),
        at_epoch(full, config.epochs, f"{config.epochs} epochs"),
        stopped,
    ]
    table = harness.results_table(rows, REPORT, harness.PART1_COLUMNS)
    notes = (
        f"{harness.PART1_NOTES} Validation loss is lowest after epoch {best_loss_epoch}, validation accuracy "
        f"highest after epoch {best_acc_epoch}. EarlyStopping ran {len(stopped.curves['train']['loss'])} "
        f"epochs and restored the weights of epoch {stopped.epochs_run} (the 'epochs' column)."
    )
    harness.write_results(config, "1.4.2 Early stopping", table, rows, REPORT, notes)
    return rows


if __name__ == "__main__":
    main()
