"""``python -m benchmarks``: run the benchmark suite and regenerate its tables.

Commands
--------
``python -m benchmarks run [--datasets ...] [--models ...] [--force] [--seed N]``
    Measure every (dataset, model) pair of ``benchmarks/suite.toml`` not yet
    measured on this machine with the same configuration, then render.
    ``--seed`` measures another seed of a stochastic model; its row then
    shows the mean and standard deviation over the seeds stored.
``python -m benchmarks tune [--datasets ...] [--models ...] [--trials 20] [--seeds 3]``
    Tune every pair whose model entry has a search space with the same
    budget (``benchmarks/tune.py``): trials on a validation split of the
    training rows, the best setting refit and tested with several seeds;
    resumable, a rerun skips what is complete (``--resume-any-machine``
    goes on with a search another machine began). ``--plan`` estimates each
    pair's time instead: measured where a search is done or begun,
    else estimated from the stored default runs.
``python -m benchmarks render``
    Regenerate the tables of ``benchmarks/README.md``, the leaderboard of
    ``README.md`` and the plots under ``benchmarks/plots/`` from the stored
    JSON results.
``python -m benchmarks list``
    Show the planned pairs and which are already measured here.

Data is read from ``$SK_RECSYS_DATA`` (or ``../shared/data`` beside the
repository); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import sys

from . import _common, render, report, suite, tune


def _print_plan(rows):
    total, left, done, unknown = 0.0, 0.0, 0, 0
    for row in rows:
        shown = "" if row.seconds is None else f"{row.seconds / 60:8.1f} min"
        shown = f"{shown:>12}  {row.basis}"
        if row.done_on:
            shown += f" on {row.done_on}"
        print(
            f"{row.dataset:<16} {row.model:<20} {row.trials:>3} trials "
            f"{row.seeds} seed(s) {shown}"
        )
        total += row.seconds or 0.0
        unknown += row.seconds is None
        done += bool(row.done_on)
        left += row.left_s or 0.0
    print(
        f"{done} of {len(rows)} pairs done; about {left / 3600:.1f} h left, "
        f"{total / 3600:.1f} h in all (measured where done or begun, else "
        f"estimated from the default runs); {unknown} pair(s) with no stored run"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="measure the configured pairs, then render")
    run.add_argument("--config", default=str(suite.CONFIG))
    run.add_argument("--datasets", nargs="*", help="only these dataset entries")
    run.add_argument("--models", nargs="*", help="only these model entries")
    run.add_argument("--force", action="store_true", help="measure again")
    run.add_argument(
        "--seed", type=int, default=0, help="the models' seed (0 unless told)"
    )
    run.add_argument(
        "--no-curves", action="store_true", help="skip the per-epoch test scores"
    )
    tuning = commands.add_parser("tune", help="tune every pair with the same budget")
    tuning.add_argument("--config", default=str(suite.CONFIG))
    tuning.add_argument("--datasets", nargs="*", help="only these dataset entries")
    tuning.add_argument("--models", nargs="*", help="only these model entries")
    tuning.add_argument("--trials", type=int, default=tune.DEFAULT_TRIALS)
    tuning.add_argument("--seeds", type=int, default=tune.DEFAULT_SEEDS)
    tuning.add_argument(
        "--jobs", type=int, default=1, help="pairs tuned at once (processes)"
    )
    tuning.add_argument(
        "--resume-any-machine",
        action="store_true",
        help="go on with a search another machine left unfinished (the table "
        "then names each machine and the trials it ran)",
    )
    tuning.add_argument(
        "--plan",
        action="store_true",
        help="only show each pair's time (measured, or estimated) and state",
    )
    commands.add_parser("render", help="regenerate tables and plots from results")
    listing = commands.add_parser("list", help="show the planned pairs")
    listing.add_argument("--config", default=str(suite.CONFIG))
    args = parser.parse_args(argv)

    if args.command == "run":
        written = suite.run(
            args.config,
            datasets=args.datasets,
            models=args.models,
            force=args.force,
            curves=not args.no_curves,
            seed=args.seed,
        )
        print(f"wrote {len(written)} result file(s)")
        render.main()
        report.main()
    elif args.command == "tune":
        selection = {
            "datasets": args.datasets,
            "models": args.models,
            "n_trials": args.trials,
            "n_seeds": args.seeds,
        }
        if args.plan:
            _print_plan(tune.plan(args.config, **selection))
        else:
            states = tune.run(
                args.config,
                **selection,
                jobs=args.jobs,
                any_machine=args.resume_any_machine,
            )
            print(f"{len(states)} pair(s) tuned")
            render.main()
            report.main()
    elif args.command == "render":
        render.main()
        report.main()
    else:
        config = suite.load_config(args.config)
        machine = _common.machine()
        for dataset_name, model_name in suite.planned(config):
            try:
                model = suite.resolve_model(
                    config["models"][model_name],
                    dataset_name,
                    config["datasets"][dataset_name],
                )
            except FileNotFoundError as error:
                print(f"{dataset_name:<16} {model_name:<22} not ready: {error}")
                continue
            path = suite.result_path(
                dataset_name,
                model_name,
                config["datasets"][dataset_name],
                model,
                machine,
            )
            state = "measured" if path.exists() else "to run"
            print(f"{dataset_name:<16} {model_name:<22} {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
