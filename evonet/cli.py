"""Command line: argument parsing only; the work is done by the library.

Exit status: 0 success; 2 bad input or usage (one line on stderr); 1 an
unexpected failure (traceback only with --debug); 130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from pathlib import Path

from .bench import BENCHMARKS
from .config import ConfigError, RunConfig
from .console import EXIT_INTERRUPTED

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse prints usage + exits 2; we want one line
        raise UsageError(message)


# ---------------------------------------------------------------------------- run flags
def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per RunConfig field (`--population`, `--sigma`, ...), plus --config."""
    parser.add_argument("--config", type=Path, help="TOML config file; flags override it")
    parser.add_argument("--text-file", type=Path, help="read the target text from a UTF-8 file")
    for f in dataclasses.fields(RunConfig):
        flag = "--" + f.name.replace("_", "-")
        kind = {"int": int, "float": float}.get(str(f.type), str)
        help_text = f.metadata["help"]
        if f.metadata["choices"]:
            help_text += f" ({', '.join(f.metadata['choices'])}"
            help_text += ", or package.module:function)" if f.metadata["plugin"] else ")"
        parser.add_argument(flag, dest=f.name, type=kind, default=None,
                            help=f"{help_text} [default: {f.default!r}]")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """Defaults, then --config, then --text-file, then flags."""
    values = {}
    if args.config is not None:
        try:
            text = args.config.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read config {args.config}: {_reason(exc)}") from None
        values = RunConfig.from_toml(text, source=str(args.config)).to_dict()
    if args.text_file is not None:
        values["text"] = read_text_file(args.text_file)
    for f in dataclasses.fields(RunConfig):
        value = getattr(args, f.name, None)
        if value is not None:
            values[f.name] = value
    return RunConfig.from_dict(values)


def read_text_file(path: Path) -> str:
    try:
        # Bytes as they are: read_text would turn CR and CRLF into LF, and the run
        # would evolve (and save) a different text from the file's.
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"text file {path} is not valid UTF-8") from None
    except OSError as exc:
        raise UsageError(f"cannot read text file {path}: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def positive_int(text: str) -> int:
    """argparse type for counts (also used by the benchmarks' own options)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1 (got {text!r})")
    return value


MAX_PIXELS = 10_000  # per side: a 10,000 x 10,000 image is already a 400 MB raster


def pixels(text: str) -> int:
    """argparse type for an image side: a whole number of pixels, 1 to MAX_PIXELS."""
    value = positive_int(text)
    if value > MAX_PIXELS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_PIXELS} (got {text!r})")
    return value


def positive_seconds(text: str) -> float:
    """argparse type for a time limit: a finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0 (got {text!r})")
    return value


def positive_int_list(text: str) -> list[int]:
    """argparse type for comma-separated counts, e.g. `16,64,128`."""
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated whole numbers >= 1 (got {text!r})")
    return values


# ---------------------------------------------------------------------------- commands
def cmd_run(args) -> int:
    from .runner import run_new

    return run_new(config_from_args(args), runs_dir=args.runs_dir, name=args.name,
                   quiet=args.quiet)


def cmd_resume(args) -> int:
    from .runner import run_resume

    return run_resume(args.run_dir, generations=args.generations, quiet=args.quiet,
                      backend=args.backend, workers=args.workers)


def cmd_sample(args) -> int:
    from .runner import sample_text

    print(sample_text(args.run_dir, length=args.length, prime=args.prime))
    return EXIT_OK


def cmd_runs(args) -> int:
    from .runs import list_runs
    from .views import runs_json, runs_table, sort_runs

    runs = list_runs(args.runs_dir)
    if args.sort is not None:
        try:
            runs = sort_runs(runs, args.sort.replace("-", "_"), reverse=args.reverse)
        except ValueError as exc:
            raise UsageError(f"--sort: {exc}") from None
    elif args.reverse:
        runs = runs[::-1]
    if args.json:
        print(runs_json(runs))
    elif runs:
        print(runs_table(runs))
    else:
        print(f"no run folders in {args.runs_dir}", file=sys.stderr)
    return EXIT_OK


def cmd_show(args) -> int:
    from .runfolder import BEST, RunFolderError
    from .runs import load_run
    from .views import show_report

    if args.last < 0:
        raise UsageError(f"--last must be >= 0 (got {args.last})")
    run = load_run(args.run_dir)
    sample, missing = None, "no best network yet"
    if (run.path / BEST).is_file():
        try:
            sample = run.sample()
        except RunFolderError as exc:  # the rest of the report is still worth showing
            missing = str(exc)
    print(show_report(run, last=args.last, sample=sample, missing=missing))
    return EXIT_OK


def cmd_plot(args) -> int:
    from .runs import load_run

    runs = [load_run(path) for path in args.run_dirs]
    try:
        from .plots import save_plot

        save_plot(runs, args.output, size=(args.width / args.dpi, args.height / args.dpi),
                  dpi=args.dpi)
    except (ImportError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    print(f"plot of {len(runs)} run{'s' * (len(runs) != 1)}: {args.output}")
    return EXIT_OK


def cmd_check(args) -> int:
    import json

    from .ablation import plot_ablation, run_ablation, validate_plot_path
    from .check import check_config

    config = config_from_args(args)
    if args.ablation and config.algorithm != "ga":
        raise UsageError(f"--ablation switches the GA's operators off, which --algorithm "
                         f"{config.algorithm} does not use: use --algorithm ga")
    if args.plot is not None:
        if not args.ablation:
            raise UsageError("--plot draws the ablation's curves: add --ablation")
        try:
            validate_plot_path(args.plot)
        except (ImportError, ValueError) as exc:
            raise UsageError(str(exc)) from None
    report = check_config(config, warmup=args.warmup, samples=args.samples)
    ablation = None
    if args.ablation:
        def progress(arm, outcome):
            done = (f"unsolved, fitness {outcome.final_fitness:.4g}"
                    if outcome.solved_at is None else f"solved at {outcome.solved_at}")
            print(f"ablation: {arm}, seed {outcome.seed}: {done}", file=sys.stderr)

        ablation = run_ablation(config, args.seeds, on_run=progress)
        if args.plot is not None:
            plot_ablation(ablation, args.plot)
    if args.json:
        print(json.dumps({"check": report.to_dict(),
                          "ablation": ablation.to_dict() if ablation else None}, indent=2))
    else:
        print(report.describe())
        if ablation is not None:
            print()
            print(ablation.describe())
        if args.plot is not None:
            print(f"ablation plot: {args.plot}")
    return EXIT_OK if report.all_effective else EXIT_FAILURE


def cmd_bench(args) -> int:
    import importlib

    names = list(BENCHMARKS) if args.name == "all" else [args.name]
    for name in names:
        if name not in BENCHMARKS:
            raise UsageError(f"unknown benchmark {name!r}; choose one of "
                             f"{', '.join([*BENCHMARKS, 'all'])}")
    status = EXIT_OK
    for name in names:
        # Each benchmark declares its own options; they are parsed only when it runs.
        module = importlib.import_module(f"evonet.bench.{BENCHMARKS[name]}")
        parser = _Parser(prog=f"evonet bench {name}")
        parser.add_argument("--repeats", type=int, default=5, help="repeats (median reported)")
        if hasattr(module, "add_arguments"):
            module.add_arguments(parser)
        options = parser.parse_args(args.options)
        if options.repeats < 1:
            raise UsageError(f"--repeats must be >= 1 (got {options.repeats})")
        status = max(status, module.run(options) or EXIT_OK)
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="evonet", description="Evolve RNNs that regenerate a target text.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of failures")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="start a run")
    add_config_flags(run)
    run.add_argument("--runs-dir", type=Path, default=Path("runs"),
                     help="where run folders go [default: runs]")
    run.add_argument("--name", help="run folder name [default: timestamp and target]")
    run.add_argument("--quiet", action="store_true", help="print only the final result")
    run.set_defaults(handler=cmd_run)

    resume = sub.add_parser("resume", help="continue a run from its last checkpoint")
    resume.add_argument("run_dir", type=Path)
    resume.add_argument("--generations", type=int, help="new generation limit (extends a run)")
    resume.add_argument("--backend", help="serial, process or dask")
    resume.add_argument("--workers", help="worker processes: a number, or auto")
    resume.add_argument("--quiet", action="store_true")
    resume.set_defaults(handler=cmd_resume)

    sample = sub.add_parser("sample", help="regenerate text from a run's best network")
    sample.add_argument("run_dir", type=Path)
    sample.add_argument("--length", type=int, help="characters [default: the target's length]")
    sample.add_argument("--prime", help="text fed in before generating [default: the "
                        "target's first character]")
    sample.set_defaults(handler=cmd_sample)

    runs = sub.add_parser("runs", help="a table of the run folders under RUNS_DIR")
    runs.add_argument("runs_dir", type=Path, nargs="?", default=Path("runs"),
                      help="folder holding run folders [default: runs]")
    runs.add_argument("--sort", metavar="FIELD", help="sort by a column: name, target, "
                      "status, generations, best_fitness, best_accuracy, solved_at, "
                      "wall_time_s, evaluations")
    runs.add_argument("--reverse", action="store_true", help="largest first")
    runs.add_argument("--json", action="store_true", help="a JSON list, for scripts")
    runs.set_defaults(handler=cmd_runs)

    show = sub.add_parser("show", help="a run's config, summary, last generations and a "
                          "fresh regeneration")
    show.add_argument("run_dir", type=Path)
    show.add_argument("--last", type=int, default=10, help="log records shown [default: 10]")
    show.set_defaults(handler=cmd_show)

    plot = sub.add_parser("plot", help="fitness curves of one or more runs, to an image")
    plot.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR")
    plot.add_argument("-o", "--output", type=Path, required=True,
                      help="image file: .png, .svg or .pdf")
    plot.add_argument("--width", type=pixels, default=1000,
                      help=f"pixels, at most {MAX_PIXELS} [default: 1000]")
    plot.add_argument("--height", type=pixels, default=700,
                      help=f"pixels, at most {MAX_PIXELS} [default: 700]")
    plot.add_argument("--dpi", type=pixels, default=100,
                      help="dots per inch: the size of text and lines [default: 100]")
    plot.set_defaults(handler=cmd_plot)

    check = sub.add_parser("check", help="are the mutation and crossover operators effective? "
                           "(exit 1 when one is not)")
    add_config_flags(check)
    check.add_argument("--warmup", type=positive_int, default=20, help="generations of the "
                       "short run whose individuals the operators are tried on [default: 20]")
    check.add_argument("--samples", type=positive_int, default=128,
                       help="mutants made, and pairs crossed, per operator [default: 128]")
    check.add_argument("--ablation", action="store_true", help="also run the config with "
                       "mutation off and crossover off, same evaluation budget, and compare")
    check.add_argument("--seeds", type=positive_int, default=5,
                       help="ablation runs per arm [default: 5]")
    check.add_argument("--json", action="store_true", help="print JSON, for scripts")
    check.add_argument("--plot", type=Path, metavar="FILE",
                       help="ablation fitness curves to an image (.png, .svg, .pdf)")
    check.set_defaults(handler=cmd_check)

    bench = sub.add_parser("bench", help="performance benchmarks (ratios measured side by side)")
    bench.add_argument("name", help="which benchmark: " + ", ".join([*BENCHMARKS, "all"]))
    bench.add_argument("options", nargs=argparse.REMAINDER,
                       help="--repeats N (default 5) and the benchmark's own options")
    bench.set_defaults(handler=cmd_bench)
    for subparser in sub.choices.values():  # `evonet run ... --debug` works too
        subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                               help="show tracebacks of failures")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    from .plugins import PluginError
    from .runfolder import RunFolderError

    try:
        args = build_parser().parse_args(argv)
        status = args.handler(args)
        sys.stdout.flush()  # a closed pipe shows here, where it is handled below
        return status
    except (UsageError, ConfigError, PluginError, RunFolderError) as exc:
        print(f"evonet: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("evonet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `evonet runs | head`: the reader left. Point stdout at devnull so the
        # interpreter's final flush does not raise again, and end quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        if debug:
            raise
        print(f"evonet: failed: {type(exc).__name__}: {exc} (rerun with --debug for the "
              "traceback)", file=sys.stderr)
        return EXIT_FAILURE
