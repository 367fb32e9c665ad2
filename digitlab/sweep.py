"""`digitlab sweep`: many `TrainConfig` trials on Ray Tune, the best (or all) registered with cards.

A lab outgrows one machine by running many configurations, not by splitting one small CNN:
each trial is one ordinary `train.train` run in a Ray worker (local Ray by default, or a
cluster at ``--address ray://head:10001``). Trials report validation accuracy (never MNIST
test, which is measured and shown but chooses nothing). The best settings are those with the
highest mean validation accuracy over seeds; their best seed is registered, or every trial
with ``--register all``. Ray is the optional extra ``pip install -e '.[scale]'``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
from dataclasses import fields
from pathlib import Path

from digitlab.paths import runs_dir

SWEEPABLE = ("epochs", "batch_size", "learning_rate", "schedule", "warmup_fraction",
             "weight_decay", "label_smoothing", "augment", "train_subset", "validation_split")


def require_ray():
    """The ray module, or a clear message on how to install it."""
    try:
        import ray
        from ray import tune  # noqa: F401
    except ImportError:
        raise SystemExit("digitlab sweep needs Ray Tune: pip install -e '.[scale]' "
                         "(or pip install 'ray[tune]')") from None
    return ray


def parse_grid(items: list[str]) -> dict[str, list]:
    """["learning_rate=3e-3,6e-3", ...] -> {"learning_rate": [0.003, 0.006]}, typed as TrainConfig."""
    from digitlab.train import TrainConfig

    defaults = {item.name: item.default for item in fields(TrainConfig)}
    grid = {}
    for item in items:
        name, _, values = item.partition("=")
        name = name.strip().replace("-", "_")
        if name not in SWEEPABLE:
            raise ValueError(f"cannot sweep {name!r}; choose from {', '.join(SWEEPABLE)}")
        if not values:
            raise ValueError(f"--grid {item!r} needs values: {name}=A,B")
        kind = type(defaults[name]) if defaults[name] is not None else int
        convert = (lambda text: text.lower() in ("1", "true", "yes")) if kind is bool else kind
        try:
            grid[name] = [convert(value.strip()) for value in values.split(",")]
        except ValueError:
            raise ValueError(f"--grid {item!r}: values of {name} must be {kind.__name__}") from None
    return grid


def trial_settings(base: dict, grid: dict[str, list], seeds: list[int]) -> list[dict]:
    """Every combination of the grid, once per seed, on top of the base settings."""
    names = sorted(grid)
    combinations = itertools.product(*(grid[name] for name in names)) if names else [()]
    return [{**base, **dict(zip(names, values)), "seed": seed}
            for values in combinations for seed in seeds]


def run_trial(config: dict) -> None:
    """One Ray Tune trial: train, save the model into the sweep folder, report its metrics."""
    import tensorflow as tf
    from ray import tune

    threads = int(config.get("threads", 1))
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    from digitlab.train import TrainConfig, train

    settings = config["settings"]
    result = train(TrainConfig(**settings, verbose=0))
    folder = Path(config["sweep_folder"]) / trial_name(settings)
    folder.mkdir(parents=True, exist_ok=True)
    result.model.save(folder / "model.keras")
    record = {"settings": settings, "val_accuracy": result.val_accuracy,
              "test_accuracy": result.test_accuracy, "seconds": round(result.seconds, 1),
              "epochs_run": result.epochs_run, "history": result.history,
              "data_checksum": result.data_checksum, "model_path": str(folder / "model.keras")}
    (folder / "trial.json").write_text(json.dumps(record, indent=2))
    tune.report({key: record[key] for key in ("val_accuracy", "test_accuracy", "seconds",
                                              "model_path")})


def trial_name(settings: dict) -> str:
    """A folder name that says what a trial tried."""
    return "-".join(f"{key}={settings[key]}" for key in sorted(settings) if key != "arch")


def run_sweep(trials: list[dict], address: str | None = None, cpus_per_trial: int = 1,
              folder: Path | None = None) -> list[dict]:
    """Run the trials on Ray Tune; their records (settings, metrics, model path)."""
    ray = require_ray()
    from ray import tune

    folder = Path(folder or tempfile.mkdtemp(prefix="sweep-", dir=ensure(runs_dir() / "sweeps")))
    started_here = not ray.is_initialized()
    if started_here:
        environment = {"env_vars": {key: os.environ[key] for key in os.environ
                                    if key.startswith("DIGITLAB_") or key == "TF_CPP_MIN_LOG_LEVEL"}}
        ray.init(address=address, runtime_env=environment, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    try:
        tuner = tune.Tuner(
            tune.with_resources(run_trial, {"cpu": cpus_per_trial}),
            param_space={"settings": tune.grid_search(trials), "sweep_folder": str(folder),
                         "threads": cpus_per_trial},
            tune_config=tune.TuneConfig(metric="val_accuracy", mode="max"),
            run_config=tune.RunConfig(name=folder.name, storage_path=str(folder / "ray"),
                                      verbose=0))
        results = tuner.fit()
    finally:
        if started_here:
            ray.shutdown()
    failed = [str(result.error) for result in results if result.error is not None]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(trials)} trials failed; first: {failed[0]}")
    return [json.loads((Path(result.metrics["model_path"]).parent / "trial.json").read_text())
            for result in results]


def ensure(folder: Path) -> Path:
    """The folder, created if missing."""
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def best_settings(records: list[dict]) -> tuple[dict, list[dict]]:
    """The settings (seed aside) with the highest mean validation accuracy; records best first."""
    groups: dict[str, list[dict]] = {}
    for record in records:
        key = json.dumps({k: v for k, v in record["settings"].items() if k != "seed"}, sort_keys=True)
        groups.setdefault(key, []).append(record)
    for group in groups.values():
        mean = sum(record["val_accuracy"] for record in group) / len(group)
        for record in group:
            record["mean_val_accuracy_over_seeds"] = mean
    ordered = sorted(records, key=lambda r: (r["mean_val_accuracy_over_seeds"], r["val_accuracy"]),
                     reverse=True)
    return {k: v for k, v in ordered[0]["settings"].items() if k != "seed"}, ordered


def register_trials(records: list[dict], name: str, which: str = "best") -> list[str]:
    """Register the best trial (or all) in the registry with full cards; their name@version."""
    if which == "none":
        return []
    import keras

    from digitlab.data import load_mnist
    from digitlab.train import TrainConfig, TrainResult, register, split_training_data

    mnist, registered = load_mnist(), []
    for record in records if which == "all" else records[:1]:
        config = TrainConfig(**record["settings"], verbose=0)
        result = TrainResult(
            model=keras.saving.load_model(record["model_path"]), config=config,
            history=record["history"], val_accuracy=record["val_accuracy"],
            test_accuracy=record["test_accuracy"], seconds=record["seconds"],
            epochs_run=record["epochs_run"], data_checksum=record["data_checksum"],
            validation=split_training_data(config, mnist)[1])
        registered.append(register(result, name).removeprefix("registered "))
    return registered


def build_parser() -> argparse.ArgumentParser:
    """`digitlab sweep` options."""
    parser = argparse.ArgumentParser(prog="digitlab sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="fast", help="baseline, fast, default or residual (default fast)")
    parser.add_argument("--grid", action="append", default=[], metavar="FIELD=A,B",
                        help=f"values to try (repeat for more fields): {', '.join(SWEEPABLE)}")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds per setting (0)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per trial unless swept (3)")
    parser.add_argument("--train-subset", type=int, help="train on the first N images")
    parser.add_argument("--test-subset", type=int, help="measure MNIST test on the first N only")
    parser.add_argument("--address", help="a Ray cluster (ray://head:10001); default: local Ray")
    parser.add_argument("--cpus-per-trial", type=int, default=1)
    parser.add_argument("--register", choices=("best", "all", "none"), default="best")
    parser.add_argument("--name", default="digits", help="registry name to register under")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command line: print a JSON line per trial (best first), then what was registered."""
    arguments = build_parser().parse_args(argv)
    try:
        grid = parse_grid(arguments.grid)
        seeds = [int(seed) for seed in arguments.seeds.split(",")]
    except ValueError as error:
        print(f"digitlab sweep: {error}")
        return 2
    base = {"arch": arguments.arch, "epochs": arguments.epochs,
            "train_subset": arguments.train_subset, "test_subset": arguments.test_subset}
    records = run_sweep(trial_settings(base, grid, seeds), arguments.address,
                        arguments.cpus_per_trial)
    chosen, ordered = best_settings(records)
    for record in ordered:
        print(json.dumps({key: record[key] for key in ("settings", "val_accuracy", "test_accuracy",
                                                       "mean_val_accuracy_over_seeds", "seconds")}))
    registered = register_trials(ordered, arguments.name, arguments.register)
    print(json.dumps({"best_settings": chosen, "registered": registered}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
