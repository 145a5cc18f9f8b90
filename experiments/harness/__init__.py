"""What every experiment script shares, one module per job:

    config       the flags every script takes, as a Config
    frameworks   Keras's import, seeding, thread limits
    data         the notMNIST split the report uses
    recording    per-epoch curves (one callback for both frameworks), Run, train
    report       plots and results tables
    sweep        a script's runs (settings x frameworks x seeds) as an Optuna study: workers, resume
    seed_models  the report's MLP and CNN, the CNN in the report's own Keras code for both frameworks
    part1, part2 the two parts' training and tables

A script reads like the report section it reproduces, e.g. 1.4.1:

    config = harness.parse_args(__file__, __doc__, epochs=200, settings=list(UNITS))  # UNITS = {"H=100": 100, ...}
    data = harness.load_notmnist(config.data, config.quick)
    runs = harness.sweep(config, lambda point: harness.train_seed_mlp(config, data, UNITS[point.setting]))
    harness.write_results(config, "1.4.1 Number of hidden units", harness.results_table(runs, REPORT, ...), ...)
"""

import os

# OpenBLAS's idle threads spin for a while after each matrix product, on the cores minidl's element-wise
# work needs; a timeout of 2^4 cycles puts them to sleep at once. OpenBLAS reads it when NumPy loads, so
# this runs before anything imports NumPy.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from . import seed_models  # noqa: E402
from .config import ROOT, Config, parse_args  # noqa: E402
from .data import SPLITS, Data, load_notmnist  # noqa: E402
from .frameworks import import_keras, limit_threads, seed_everything  # noqa: E402
from .part1 import PART1_COLUMNS, PART1_NOTES, add_report_scale, train_seed_mlp  # noqa: E402
from .part2 import PART2_COLUMNS, PART2_NOTES, part2_main, train_seed_cnn  # noqa: E402
from .recording import Run, epoch_recorder, mean_over_seeds, train  # noqa: E402
from .report import plot_curves, plot_settings, results_table, write_results  # noqa: E402
from .sweep import Point, sweep  # noqa: E402

__all__ = [
    "ROOT",
    "SPLITS",
    "Config",
    "Data",
    "PART1_COLUMNS",
    "PART1_NOTES",
    "PART2_COLUMNS",
    "PART2_NOTES",
    "Point",
    "Run",
    "add_report_scale",
    "epoch_recorder",
    "import_keras",
    "limit_threads",
    "load_notmnist",
    "mean_over_seeds",
    "parse_args",
    "part2_main",
    "plot_curves",
    "plot_settings",
    "results_table",
    "seed_everything",
    "seed_models",
    "sweep",
    "train",
    "train_seed_cnn",
    "train_seed_mlp",
    "write_results",
]
