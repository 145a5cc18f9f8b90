"""Part 1: the MLP in minidl, full-batch gradient descent with momentum, curves on all three splits."""

from __future__ import annotations

import minidl

from . import seed_models
from .config import Config
from .data import SPLITS, Data
from .frameworks import seed_everything
from .recording import Run, train
from .report import plot_curves, plot_test_pictures, slug

GRADIENT_STATS_UNITS = 1000  # the run whose gradient statistics are drawn (the report's main MLP)

# The report's part-1 loss is -mean(y * log p) over N*10 entries: one tenth of the usual cross-entropy.
PART1_COLUMNS = [
    ("train_accuracy", "train acc"),
    ("test_accuracy", "test acc"),
    ("valid_accuracy", "valid acc"),
    ("train_loss10", "train loss/10"),
    ("test_loss10", "test loss/10"),
    ("valid_loss10", "valid loss/10"),
    ("train_loss", "train CE"),
    ("test_loss", "test CE"),
    ("valid_loss", "valid CE"),
]
PART1_NOTES = (
    "Losses: 'loss/10' is the report's scale (-mean(y log p) over N*10 entries), 'CE' the usual "
    "categorical cross-entropy (Keras's)."
)


def add_report_scale(values: dict) -> dict:
    """Add the report's one-tenth-scale losses (`train_loss10`, ...) beside the usual ones."""
    values.update({f"{split}_loss10": values[f"{split}_loss"] / 10 for split in SPLITS if f"{split}_loss" in values})
    return values


def train_seed_mlp(
    config: Config,
    data: Data,
    hidden_units: int,
    setting: str | None = None,
    callbacks: tuple = (),
    validation: bool = False,
    seed: int | None = None,
) -> Run:
    """Part 1's training: the seed MLP, full-batch gradient descent, train/valid/test recorded each epoch."""
    seed = config.seed if seed is None else seed
    seed_everything("minidl", seed)
    model = seed_models.mlp(hidden_units)
    gradient_stats = minidl.callbacks.GradientStats() if hidden_units == GRADIENT_STATS_UNITS else None
    callbacks = (*callbacks, gradient_stats) if gradient_stats else callbacks
    fit_kwargs = dict(batch_size=len(data.x["train"]))
    if validation:
        fit_kwargs["validation_data"] = (data.x["valid"], data.y["valid"])
    run = train(
        "minidl",
        setting or f"H={hidden_units}",
        model,
        data,
        config,
        fit_kwargs,
        evaluate=("train", "test") if validation else SPLITS,
        callbacks=callbacks,
        seed=seed,
    )
    add_report_scale(run.final)
    several = len(config.seeds) > 1
    name = f"minidl_{run.setting}" + (f"_seed{seed}" if several else "")
    description = (
        f"{config.epochs} epochs, {hidden_units} hidden units, alpha {seed_models.MLP_LEARNING_RATE} "
        f"(batch mean), gamma {seed_models.MLP_MOMENTUM}" + (f", seed {seed}" if several else "")
    )
    plot_curves(run, description, config.out, name=name)
    plot_test_pictures(run, data, config.out, name=name)
    if gradient_stats is not None:  # backprop at work: gradients, steps and activations layer by layer
        gradient_stats.plot(config.out / f"{slug(name)}_gradients.png", title=description)
    return run
