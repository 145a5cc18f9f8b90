"""A script's runs as a grid, settings x frameworks x seeds, trained as an Optuna study: one trial per
run, stored in a database (an SQLite file in the output folder by default; PostgreSQL or MySQL lets
several machines share it), shared by worker processes, resumed after a kill.

How a sweep stays exact:
- The study's user attribute "identity" names the script, its epochs and its whole grid; a study made for
  another grid is refused before anything trains.
- `optuna.samplers.GridSampler` hands out the grid points; a point whose trials all ended without
  completing (a worker killed with SIGKILL, Ctrl-C, a lost machine) is queued again with
  `study.enqueue_trial`. A killed worker's trial is found by Optuna's heartbeat: it stops beating, and
  after the grace period `fail_stale_trials` marks it failed.
- A trial starts by looking for its point in the other trials: if one completed it, or an older trial
  is running it, the trial is pruned as a duplicate before it trains; it looks again when it has trained
  (two trials may set the same point at one moment), and if one completed it meanwhile it is pruned
  then. So no point completes twice.
- Workers wait for running trials to end, or to go stale, before they stop: every invocation ends with
  its grid complete, and builds its table from the study.

Without Optuna the same points train one after another in this process, as the scripts always did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

from .config import Config
from .recording import Run

HEARTBEAT_SECONDS = float(os.environ.get("MINIDL_SWEEP_HEARTBEAT", "10"))  # tests shorten it
GRACE_PERIODS = 3  # heartbeats missed before a running trial counts as dead
MAX_SEED = 2**31 - 1
INSTALL_HINT = 'pip install -e ".[sweep]"'


@dataclass(frozen=True)
class Point:
    """One run of a script's grid."""

    setting: str
    framework: str
    seed: int

    @property
    def params(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of_run(cls, run: Run) -> Point:
        return cls(run.setting, run.framework, run.seed or 0)


def grid_points(config: Config, all_points: bool = False) -> list[Point]:
    """The points this invocation trains (or with `all_points` the ones its table shows: every setting
    and framework of the script at this invocation's seeds), in table order: seed, setting, framework."""
    settings = config.all_settings if all_points else config.settings or config.all_settings
    frameworks = config.all_frameworks if all_points else config.frameworks
    return [Point(s, f, seed) for seed in config.seeds for s in settings for f in frameworks]


def sweep(config: Config, train_point: Callable[[Point], Run]) -> list[Run]:
    """Train this invocation's points, those the study has not completed (all of them serially when
    Optuna is not installed), and return the runs of the table's points that exist, in table order."""
    optuna = import_optuna(config)
    if optuna is None:
        print(f"[{config.script}] runs one after another; for workers, resume and shared studies: {INSTALL_HINT}")
        trained = {Point.of_run(r): r for r in map(train_point, grid_points(config))}
        runs = {**saved_runs(config), **trained}
        return [runs[p] for p in grid_points(config, all_points=True) if p in runs]
    study = open_study(optuna, config)
    if config.worker:
        work(optuna, study, config, train_point)
        raise SystemExit(0)
    if config.rerun:
        mark_for_rerun(study, grid_points(config))
    if config.workers == 1:
        work(optuna, study, config, train_point)
    else:
        start_workers(config)
    completed = completed_runs(optuna, study)
    missing = [p for p in grid_points(config) if p not in completed]
    if missing:
        raise SystemExit(
            f"[{config.script}] {len(missing)} of {len(grid_points(config))} runs did not complete "
            f"(first: {missing[0]}); run the same command again to resume"
        )
    shown = redact(storage_url(config))
    print(f"[{config.script}] study {study.study_name!r}: {len(completed)} completed runs in {shown}")
    return [completed[p] for p in grid_points(config, all_points=True) if p in completed]


# ------------------------------------------------------------------------------------- the study
def import_optuna(config: Config):
    """Optuna, quiet; or None when it is not installed and no flag needs it."""
    try:
        import optuna
    except ImportError:
        if config.storage or config.study or config.workers > 1 or config.rerun or config.worker:
            raise SystemExit(
                f"{config.script}: --storage, --study, --workers and --rerun need Optuna: {INSTALL_HINT}"
            ) from None
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING if config.verbose < 2 else optuna.logging.INFO)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def storage_url(config: Config) -> str:
    return config.storage or f"sqlite:///{(config.out / 'study.db').resolve()}"


def study_name(config: Config) -> str:
    return config.study or f"{config.script}-{config.epochs}-epochs" + ("-quick" if config.quick else "")


def grid_identity(config: Config) -> dict:
    """What a study's runs depend on besides their point: a study made for other values is refused."""
    return {
        "script": config.script,
        "epochs": config.epochs,
        "quick": config.quick,
        "settings": list(config.all_settings),
        "frameworks": list(config.all_frameworks),
    }


def open_study(optuna, config: Config, identity: dict | None = None, sampler=None, **create_kwargs):
    """The script's study in its storage (by default the grid study: a GridSampler, maximising each
    trial's final validation accuracy), created if new. A study whose user attribute "identity" differs
    from `identity` (default: the script's grid) is refused, naming what differs; every error comes before
    anything in the study changes."""
    url, name = storage_url(config), study_name(config)
    identity = grid_identity(config) if identity is None else identity
    sampler = grid_sampler(optuna, config) if sampler is None else sampler
    try:
        storage = rdb_storage(optuna, url)
        exists = name in optuna.get_all_study_names(storage)
    except Exception as error:  # SQLAlchemy's OperationalError, a missing driver, a malformed URL
        raise SystemExit(
            f"{config.script}: cannot open the study storage {redact(url)}: {first_line(error)}"
            + (f" (the PostgreSQL driver comes with {INSTALL_HINT})" if isinstance(error, ImportError) else "")
        ) from None
    if exists:
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=create_kwargs.get("pruner"))
        found = study.user_attrs.get("identity") or {}
        if found != identity:
            differ = ", ".join(
                f"{k}: study {found.get(k)!r}, this run {v!r}" for k, v in identity.items() if found.get(k) != v
            )
            raise SystemExit(
                f"{config.script}: study {name!r} in {redact(url)} was made for another grid ({differ}); "
                "give another --study or --storage"
            )
        return study
    create_kwargs.setdefault("direction", "maximize")
    # load_if_exists: another worker or machine may create it at the same moment
    study = optuna.create_study(study_name=name, storage=storage, sampler=sampler, load_if_exists=True, **create_kwargs)
    study.set_user_attr("identity", identity)
    return study


def rdb_storage(optuna, url: str, attempts: int = 5):
    """Optuna's RDBStorage with a heartbeat. Two invocations that open a new database at the same moment
    both create its tables, and one of them loses the race (PostgreSQL: a unique violation on the type
    catalogue): it tries again, and then finds the tables made."""
    import sqlalchemy.exc

    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(
                url,
                heartbeat_interval=int(max(1, HEARTBEAT_SECONDS)),
                grace_period=int(max(1, HEARTBEAT_SECONDS) * GRACE_PERIODS),
                engine_kwargs={"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {},
            )
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


def grid_sampler(optuna, config: Config):
    """The grid of this invocation's points; the same seed in every worker, so that a grid id means the
    same point everywhere."""
    search_space = {
        "setting": list(config.settings or config.all_settings),
        "framework": list(config.frameworks),
        "seed": list(config.seeds),
    }
    return optuna.samplers.GridSampler(search_space, seed=0)


def redact(url: str) -> str:
    """The URL without its password."""
    scheme, _, rest = url.partition("://")
    if "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    return f"{scheme}://{credentials.split(':')[0]}:***@{host}" if ":" in credentials else url


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


# ------------------------------------------------------------------------- trials and their points
def trial_params(trial) -> dict:
    """A trial's point as parameters: suggested, or for a queued (WAITING) trial the ones it will take."""
    return trial.params or trial.system_attrs.get("fixed_params", {})


def point_of(trial) -> Point:
    params = trial_params(trial)
    return Point(params["setting"], params["framework"], int(params["seed"]))


def counted_trials(study, trials: list | None = None) -> list:
    """The study's trials (or `trials`, read from it) that have a point, less those a --rerun set aside
    (numbered below its mark for their point)."""
    marks = study.user_attrs.get("rerun_from", {})
    trials = study.get_trials(deepcopy=False) if trials is None else trials
    return [t for t in trials if has_point(t) and t.number >= marks.get(key(point_of(t)), 0)]


def has_point(trial) -> bool:
    return {"setting", "framework", "seed"} <= set(trial_params(trial))


def key(point: Point) -> str:
    return f"{point.framework}|{point.setting}|{point.seed}"


def mark_for_rerun(study, points: list[Point]) -> None:
    """Set aside the trials of these points so far: they train again (the old trials stay in the study)."""
    marks = dict(study.user_attrs.get("rerun_from", {}))
    marks.update({key(p): len(study.get_trials(deepcopy=False)) for p in points})
    study.set_user_attr("rerun_from", marks)


def completed_runs(optuna, study) -> dict[Point, Run]:
    """Each point's run from its completed trial (the newest, after a --rerun)."""
    runs = {}
    for trial in counted_trials(study):
        if trial.state == optuna.trial.TrialState.COMPLETE:
            runs[point_of(trial)] = Run(**trial.user_attrs["run"])
    return runs


def objective(optuna, config: Config, train_point: Callable[[Point], Run]) -> Callable:
    """One trial: its point, a duplicate check, the training run recorded in the trial's user attributes;
    its value the run's final validation accuracy."""

    def run_trial(trial) -> float:
        point = Point(
            trial.suggest_categorical("setting", list(config.all_settings)),
            trial.suggest_categorical("framework", list(config.all_frameworks)),
            trial.suggest_int("seed", 0, MAX_SEED),
        )
        states = optuna.trial.TrialState

        def prune_if_trained_elsewhere(or_running_in_an_older_trial: bool) -> None:
            others = [t for t in counted_trials(trial.study) if point_of(t) == point and t.number != trial.number]
            trained = [
                t
                for t in others
                if t.state == states.COMPLETE
                or (or_running_in_an_older_trial and t.state == states.RUNNING and t.number < trial.number)
            ]
            if trained:
                trial.set_user_attr("duplicate_of", trained[0].number)
                raise optuna.TrialPruned(f"{point} is trained by trial {trained[0].number}")

        prune_if_trained_elsewhere(or_running_in_an_older_trial=True)
        trial.set_user_attr("worker", f"{os.uname().nodename}:{os.getpid()}")
        trial.set_user_attr("out", str(config.out))
        run = train_point(point)
        # Two trials that set their point at the same moment may both have started; the first to
        # finish completes it, the other is recorded as a duplicate.
        prune_if_trained_elsewhere(or_running_in_an_older_trial=False)
        trial.set_user_attr("run", {f.name: getattr(run, f.name) for f in fields(Run) if f.name != "model"})
        return float(run.final.get("valid_accuracy", run.final.get("test_accuracy", 0.0)))

    return run_trial


def work(optuna, study, config: Config, train_point: Callable[[Point], Run]) -> None:
    """Train trials until every point of this invocation's grid has completed: new points as the
    GridSampler hands them out, points whose trials all ended incomplete queued again, and while other
    workers' trials run, wait for them to end or go stale."""
    mine = grid_points(config)
    run_trial = objective(optuna, config, train_point)
    states = optuna.trial.TrialState
    while True:
        optuna.storages.fail_stale_trials(study)
        trials = study.get_trials(deepcopy=False)  # read once per round
        by_point: dict[Point, set] = {p: set() for p in mine}
        for trial in counted_trials(study, trials):
            by_point.get(point_of(trial), set()).add(trial.state)
        todo = [p for p, s in by_point.items() if states.COMPLETE not in s]
        if not todo:
            return
        tried = {point_of(t) for t in trials if has_point(t)}
        # tried before, and nothing completed, running or queued: queue it again
        requeue = [p for p in todo if p in tried and not by_point[p] & {states.RUNNING, states.WAITING}]
        for point in requeue:
            study.enqueue_trial(point.params, user_attrs={"requeued": True})
        if requeue or any(t.state == states.WAITING for t in trials) or any(p not in tried for p in todo):
            study.optimize(run_trial, n_trials=1, catch=())
        else:
            time.sleep(min(HEARTBEAT_SECONDS, 5.0))


# --------------------------------------------------------------------------------------- workers
def worker_number() -> int:
    """This worker's number, 1 to --workers (0: not a worker), e.g. to give each its own sampler seed."""
    return int(os.environ.get("MINIDL_SWEEP_WORKER", "0"))


def start_workers(config: Config) -> None:
    """config.workers copies of this script as worker processes on this machine, the cores divided
    between them; waits for all of them."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = config.threads or max(1, cores // config.workers)
    command = [sys.executable, config.script_file, *config.argv, "--worker", "--workers", "1"]
    command += ["--threads", str(threads)]
    print(
        f"[{config.script}] {config.workers} workers, {threads} thread(s) each, study in {redact(storage_url(config))}"
    )
    workers = [
        subprocess.Popen(command, env={**os.environ, "MINIDL_SWEEP_WORKER": str(number)})
        for number in range(1, config.workers + 1)
    ]
    try:
        codes = [worker.wait() for worker in workers]
    except KeyboardInterrupt:
        for worker in workers:
            worker.wait()
        raise
    for number, code in enumerate(codes, 1):
        if code:
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            print(f"[{config.script}] worker {number} {how}; its trial is retried by the others or the next run")


def saved_runs(config: Config) -> dict[Point, Run]:
    """Without Optuna: the runs saved in `config.out`'s results.json by an earlier invocation with the
    same epochs and data (--quick or not), for the table's rows this invocation does not train."""
    path = config.out / "results.json"
    if not path.exists():
        return {}
    saved = json.loads(path.read_text())
    if (saved.get("epochs"), saved.get("quick")) != (config.epochs, config.quick):
        return {}
    names = [f.name for f in fields(Run) if f.name not in ("model", "spread")]
    runs = {}
    for record in saved["runs"]:
        record = {"command": saved.get("command", ""), "seed": saved.get("seed"), **record}
        run = Run(**{name: record[name] for name in names})
        runs[Point.of_run(run)] = run
    return runs
