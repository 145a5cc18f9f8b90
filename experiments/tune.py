"""Beyond the report's grid: search the part-1 MLP (learning rate, momentum, hidden units; the epochs by
early stopping) or the part-2 CNN (learning rate, L2, dropout) with Optuna's TPE sampler, a median pruner
stopping hopeless trials from minidl's on_epoch_end, and every trial in a study (SQLite in the output
folder by default; --workers and --storage as in every script). Each trial's value is its best validation
loss. At the end the best configuration and the report's hand-picked one are each trained once more with
the same seed and evaluated on the test set, which the search never sees.

    python experiments/tune.py mlp --trials 30 --workers 2
    python experiments/tune.py cnn --trials 20

A study that is killed and started again goes on until it has --trials finished (completed or pruned)
trials (with several workers, each may finish one more). Needs Optuna: pip install -e ".[sweep]"."""

from __future__ import annotations

import harness
import minidl
from harness import seed_models
from harness.sweep import INSTALL_HINT, import_optuna, open_study, start_workers, worker_number

PATIENCE = {"mlp": 30, "cnn": 5}  # EarlyStopping's patience in epochs: 30 rides out the MLP's early bumps
REPORT_EPOCHS = {"mlp": 200, "cnn": 50}
# The report's hand-picked configurations (part 1 in minidl's batch-mean learning rate, see seed_models).
REPORT_CHOICE = {
    "mlp": {"learning_rate": seed_models.MLP_LEARNING_RATE, "momentum": seed_models.MLP_MOMENTUM, "hidden_units": 1000},
    "cnn": {"learning_rate": 1e-4, "l2": 0.0, "dropout": 0.0},
}


def suggest(trial, model: str) -> dict:
    """The search space."""
    if model == "mlp":
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.005, 0.5, log=True),
            "momentum": trial.suggest_float("momentum", 0.5, 0.995),
            "hidden_units": trial.suggest_int("hidden_units", 100, 2000, log=True),
        }
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 1e-3, log=True),
        "l2": trial.suggest_float("l2", 1e-5, 0.5, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.9),
    }


class PruneHopelessTrials(minidl.callbacks.Callback):
    """Reports `monitor` to the trial after every epoch; ends the fit (optuna.TrialPruned) when the
    study's pruner judges the trial hopeless."""

    def __init__(self, trial, monitor: str = "val_loss"):
        super().__init__()
        self.trial, self.monitor = trial, monitor

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {})[self.monitor]
        self.trial.report(float(value), epoch)
        if self.trial.should_prune():
            import optuna

            raise optuna.TrialPruned(f"epoch {epoch + 1}: {self.monitor} {value:.4f}")


def fit(
    config: harness.Config,
    data: harness.Data,
    model_name: str,
    params: dict,
    epochs: int,
    callbacks=(),
    stop_early=True,
):
    """One seeded training run of `params` on the training split for at most `epochs` epochs, validated on
    the validation split; with `stop_early`, EarlyStopping(val_loss) ends it and restores the best
    epoch's weights. Returns the model, its validation loss and accuracy, and the epochs it counts."""
    minidl.set_seed(config.seed)
    if model_name == "mlp":
        model = seed_models.mlp(params["hidden_units"], params["learning_rate"], params["momentum"])
        batch_size = len(data.x["train"])  # full batch, as in the report
    else:
        model = seed_models.cnn("minidl", params["l2"] or None, params["dropout"] or None, params["learning_rate"])
        batch_size = 32
    stopper = minidl.callbacks.EarlyStopping("val_loss", patience=PATIENCE[model_name], restore_best_weights=True)
    history = model.fit(
        data.x["train"],
        data.y["train"],
        batch_size=batch_size,
        epochs=epochs,
        validation_data=(data.x["valid"], data.y["valid"]),
        callbacks=[*callbacks, *([stopper] if stop_early else [])],
        verbose=0,
    )
    counted = stopper.best_epoch + 1 if stop_early else len(history.epoch)
    valid = model.evaluate(data.x["valid"], data.y["valid"], batch_size=2048, verbose=0, return_dict=True)
    return model, valid, counted


def main(argv=None):
    def add_arguments(parser):
        parser.add_argument("model", choices=("mlp", "cnn"), help="the part-1 MLP or the part-2 CNN")
        parser.add_argument("--trials", type=int, default=30, help="finished trials in the study (default 30)")

    # --epochs: the most a trial trains (EarlyStopping usually ends it sooner)
    config = harness.parse_args(__file__, __doc__, epochs=200, argv=argv, add_arguments=add_arguments)
    model_name, n_trials = config.options["model"], config.options["trials"]
    optuna = import_optuna(config)
    if optuna is None:
        raise SystemExit(f"tune.py searches with Optuna: {INSTALL_HINT}")
    data = harness.load_notmnist(config.data, config.quick, image_shape=(784,) if model_name == "mlp" else (28, 28, 1))
    identity = {"script": "tune", "model": model_name, "epochs": config.epochs, "quick": config.quick}
    study = open_study(
        optuna,
        config,
        identity,
        sampler=optuna.samplers.TPESampler(seed=config.seed + 1000 * worker_number()),  # workers sample apart
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=10 if model_name == "mlp" else 2),
        direction="minimize",
    )

    def objective(trial) -> float:
        params = suggest(trial, model_name)
        _, valid, epochs = fit(config, data, model_name, params, config.epochs, [PruneHopelessTrials(trial)])
        trial.set_user_attr("valid_accuracy", valid["accuracy"])
        trial.set_user_attr("epochs", epochs)
        print(f"[tune] trial {trial.number}: {params} -> val_loss {valid['loss']:.4f} after {epochs} epochs")
        return valid["loss"]

    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    if config.worker or config.workers == 1:
        if len(study.get_trials(deepcopy=False, states=finished)) < n_trials:  # a resumed study may be done
            study.optimize(objective, callbacks=[optuna.study.MaxTrialsCallback(n_trials, states=finished)])
        if config.worker:
            return None
    else:
        start_workers(config)
    return report(config, data, study, model_name)


def report(config: harness.Config, data: harness.Data, study, model_name: str) -> dict:
    """The best trial beside the report's choice, each trained once more and tested; the study's plots."""
    import optuna

    states = [t.state for t in study.trials]
    counts = {s.name.lower(): states.count(s) for s in set(states)}
    best = study.best_trial
    rows = []
    report_epochs = config.epochs if config.quick else REPORT_EPOCHS[model_name]
    choices = (
        ("best of the search", best.params, config.epochs, True),
        ("report", REPORT_CHOICE[model_name], report_epochs, False),
    )
    for name, params, epochs, stop_early in choices:
        model, valid, epochs = fit(config, data, model_name, params, epochs, stop_early=stop_early)
        test = model.evaluate(data.x["test"], data.y["test"], batch_size=2048, verbose=0, return_dict=True)
        rows.append((name, params, epochs, valid, test))
    lines = [f"# Tuning the {model_name.upper()} with TPE ({counts})", "", f"Command: `{config.command}`", ""]
    lines += [
        "| configuration | parameters | epochs | valid loss | valid acc | test acc |",
        "|---|---|---|---|---|---|",
    ]
    for name, params, epochs, valid, test in rows:
        shown = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in params.items())
        lines.append(
            f"| {name} | {shown} | {epochs} | {valid['loss']:.4f} | {valid['accuracy']:.4f} | {test['accuracy']:.4f} |"
        )
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    (config.out / "tuning.md").write_text(text)
    plots = optuna.visualization.matplotlib
    target = "best validation loss"
    figures = {"optimization_history": lambda: plots.plot_optimization_history(study, target_name=target)}
    if counts.get("complete", 0) >= 2:  # PED-ANOVA: no scikit-learn needed
        evaluator = optuna.importance.PedAnovaImportanceEvaluator()
        figures["param_importances"] = lambda: plots.plot_param_importances(study, evaluator, target_name=target)
    for name, plot in figures.items():
        axes = plot()
        axes.figure.set_size_inches(8, 5)
        axes.figure.tight_layout()
        axes.figure.savefig(config.out / f"{model_name}_{name}.png", dpi=100)
    print(f"[tune] wrote {config.out / 'tuning.md'} and the plots")
    return {name: (params, epochs, valid, test) for name, params, epochs, valid, test in rows}


if __name__ == "__main__":
    main()
