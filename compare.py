"""Compare methods on one shared protocol: every chosen method over several seeds, one results folder
per (method, seed), then the table and figures of the whole comparison.

    python compare.py --out results/permuted-10 --seeds 0,1,2 -- --tasks 10 --epochs 5

Everything after `--` goes to every script (the core flags: benchmark, tasks, epochs, network, ...).
`--method-flags NAME="FLAGS"` adds flags for one method only. A second invocation skips the runs that
already finished and resumes interrupted ones from their last finished task.

`--sweep lamb=0.5,1,3,10` runs every method that has the flag once per value, chooses for each method
the value with the best mean final validation accuracy (a VAE's: the lowest validation negative ELBO;
so the protocol needs `--validation N`), and
reports that value's test results; `sweep.md` lists every value. Test data never chooses anything.
`--sweep ewc:lamb=1e2,1e4,1e6` sweeps one method only (its own grid); repeat --sweep for several, one
swept flag per method. `--sweep-seeds 0` runs the swept values on seed 0 only, then the value chosen
on seed 0's validation data on every other seed: a grid costs one seed, not all of them.

`--contrasts A:*,C:D` names the comparisons the campaign exists for (by default ANPyC with and without
pruning against every other method), before it runs: contrasts.json keeps them, a later invocation may
not change them, and verdicts.md judges them with Holm's adjustment over that family, then every pair
as exploratory.
"""
import argparse
import importlib.util
import re
import shlex
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from common import cli, figures, report
from common.errors import Parser, UserError
from common.results import RESULTS, write_json
from common.runner import RayRunner, run_script, shared_cores, start_argv

ROOT = Path(__file__).resolve().parent
METHODS = {
    "anpyc_wi_np": "anpyc_wi_np.py",
    "anpyc_wo_np": "anpyc_wo_np.py",
    "anpyc_vae": "anpyc_vae.py",
    "anpyc_gan": "anpyc_gan.py",
    "ewc": "baselines/ewc.py",
    "mas": "baselines/mas.py",
    "si": "baselines/si.py",
    "lwf": "baselines/lwf.py",
    "joint": "baselines/joint.py",
    "generative_replay": "baselines/generative_replay.py",
    "mergan_jtr": "baselines/mergan_jtr.py",
    "packnet": "baselines/packnet.py",
    "replay": "baselines/replay.py",
    "finetuning": "baselines/finetuning.py",
    "sgd_frozen": "baselines/sgd_frozen.py",
    "sgd_single_head": "baselines/sgd_single_head.py",
}


def finished(folder: Path) -> bool:
    return any(run["path"] == folder for run in report.load_runs(folder)) if folder.exists() else False


def script(method: str):
    """The method's script as a module (its HPARAMS and FLAGS)."""
    spec = importlib.util.spec_from_file_location(f"compare_{method}", ROOT / METHODS[method])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_one(job, runner):
    """Run one job; whatever happens to it (a failed script, a Ray task that raised), the campaign goes on
    and the line says what happened."""
    label, method, seed, folder, argv = job
    start = time.perf_counter()
    try:
        code, resume = runner(METHODS[method], folder, seed, argv)
    except Exception as error:  # noqa: BLE001: one job's failure, reported, never the campaign's
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        status = f"FAILED ({type(error).__name__}: {first_line})"
    else:
        log = folder / "log.txt"
        last = (log.read_text().strip().splitlines()[-1:] if log.exists() else []) or [""]
        status = ("resumed and done" if resume else "done") if code == 0 else f"FAILED ({last[0]})"
    return f"{label} seed {seed}: {status} in {time.perf_counter() - start:.0f}s"


@dataclass
class Campaign:
    """What a compare.py command line asks for. `jobs`: the runs to make first, each (name, method,
    seed, folder, argv); `swept`: per swept method (its label), each value's (name, folder, argv), of
    which the one chosen on `sweep_seeds` runs on the other seeds afterwards."""
    args: argparse.Namespace
    seeds: list[int]
    sweep_seeds: list[int]
    methods: dict[str, str]  # label: method
    sweeps: list  # (method label, or None for every method with the flag; flag; values)
    jobs: list
    swept: dict
    contrasts: str  # the planned comparisons (report.contrast_family)


def plan(argv: list[str]) -> tuple[Parser, Campaign]:
    """compare.py's command line `argv` read into its campaign (and the parser, for later errors); bad
    flags, swept values included, stop here with one line."""
    split = argv.index("--") if "--" in argv else len(argv)
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=RESULTS / "compare", help="the comparison's folder")
    parser.add_argument("--methods", default="all",
                        help=f"comma-separated, from: {', '.join(METHODS)}; LABEL=METHOD runs METHOD under the name "
                             "LABEL (a variant, such as a control, beside the method itself)")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs in parallel; locally each gets cores/N TensorFlow and OpenMP threads (at least 1) "
                             "unless the environment sets any of them; a Ray task gets one")
    parser.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                        help="run on Ray: alone, a new local Ray instance of --jobs CPUs; with an ADDRESS, that "
                             "cluster (auto: the one `ray start` runs on this machine)")
    parser.add_argument("--gpus-per-job", type=float, default=0.0, metavar="X",
                        help="with --ray: the share of a GPU each run asks for (0.5: two runs per GPU)")
    parser.add_argument("--method-flags", action="append", default=[], metavar='NAME="FLAGS"',
                        help="extra flags for one method, e.g. anpyc_wi_np=\"--retrain-epochs 2\"")
    parser.add_argument("--sweep", action="append", default=[], metavar="[METHOD:]FLAG=V1,V2,...",
                        help="search a hyperparameter on the validation split (for one method, or every method "
                             "that has the flag); repeatable")
    parser.add_argument("--sweep-seeds", metavar="SEEDS",
                        help="run the swept values on these seeds only (default: every seed), then the value chosen "
                             "on their validation data on every other seed")
    parser.add_argument("--contrasts", metavar="A:B,C:*,...",
                        help="the comparisons the campaign exists for, by method label (A:* is A against every "
                             "other); default: ANPyC with and without pruning against every other method")
    parser.add_argument("--reference", default="finetuning",
                        help="the method every other is compared with, paired by seed (if it ran)")
    args = parser.parse_args(argv[:split])
    protocol = argv[split + 1:]
    methods = dict(item.partition("=")[::2] if "=" in item else (item, item)
                   for item in (METHODS if args.methods == "all" else args.methods.split(",")))  # label: method
    unknown = [m for m in methods.values() if m not in METHODS]
    if unknown or args.jobs < 1:
        parser.error(f"unknown method {unknown[0]}" if unknown else "--jobs must be >= 1")
    bad = [label for label in methods if not re.fullmatch(r"[\w.-]+", label)]
    if bad:
        parser.error(f"--methods: a label may hold letters, digits, _, . and - only (got {bad[0]!r})")
    if args.ray and any(a.split("=")[0] == "--jobs" for a in argv[:split]):
        parser.error("--jobs has no effect with --ray ADDRESS: the cluster's CPUs decide how many runs go at once")
    if not 0 <= args.gpus_per_job <= 1:
        parser.error(f"--gpus-per-job must be in [0, 1] (got {args.gpus_per_job})")
    seeds = seed_list(args.seeds, "--seeds", parser)
    extra = {}
    for item in args.method_flags:
        name, _, flags = item.partition("=")
        if name not in methods:
            parser.error(f"--method-flags: unknown method {name!r}")
        extra[name] = shlex.split(flags)

    sweeps = []
    for item in args.sweep:
        spec, _, listed = item.partition("=")
        target, _, flag = spec.rpartition(":")
        if not listed or not flag:
            parser.error("--sweep needs [METHOD:]FLAG=V1,V2,...")
        if target and target not in methods:
            parser.error(f"--sweep: unknown method {target!r}")
        sweeps.append((target or None, flag.replace("-", "_"), listed.split(",")))
    contrasts = report.default_contrasts(methods) if args.contrasts is None else args.contrasts
    for item in contrasts.split(",") if args.contrasts is not None else []:
        a, colon, b = item.partition(":")
        if not colon or a not in methods or b not in [*methods, "*"] or a == b:
            parser.error(f"--contrasts: {item!r} is not A:B or A:* with A and B two of --methods' labels")
    sweep_seeds = seeds if args.sweep_seeds is None else seed_list(args.sweep_seeds, "--sweep-seeds", parser)
    if not set(sweep_seeds) <= set(seeds):
        parser.error("--sweep-seeds must be some of --seeds")
    jobs, swept = [], {}  # swept: method label -> {value: (label, folder, argv)}
    for m, method in methods.items():
        module = script(method)
        flags = getattr(module, "FLAGS", {})
        named = [] if m == method else ["--label", m]
        config = cli.parse(module.HPARAMS, flags, "", protocol + extra.get(m, []) + named)  # bad flags stop here
        own = [(f, v) for target, f, v in sweeps if target == m] or [(f, v) for t, f, v in sweeps if t is None and f in flags]
        if own and not config.validation:
            parser.error(f"--sweep needs --validation N (N > 0) after --, to choose {m}'s value on validation data")
        if len(own) > 1:
            parser.error(f"--sweep: {m} would sweep {len(own)} flags; sweep one flag per method")
        if own and own[0][0] not in flags:
            parser.error(f"--sweep: {m} has no flag --{own[0][0].replace('_', '-')}")
        for value in own[0][1] if own else [None]:
            label = f"{own[0][0]}={value}" if value is not None else None
            folder = args.out / m / label if label else args.out / m
            argv = protocol + extra.get(m, []) + named + ([f"--{own[0][0].replace('_', '-')}", value] if label else [])
            cli.parse(module.HPARAMS, flags, "", argv)  # a bad swept value stops here too
            if label:
                swept.setdefault(m, {})[label] = (f"{m} {label}", folder, argv)
            jobs += [(f"{m} {label}" if label else m, method, s, folder / f"seed{s}", argv)
                     for s in (sweep_seeds if label else seeds)]
    return parser, Campaign(args, seeds, sweep_seeds, methods, sweeps, jobs, swept, contrasts)


def planned_runs(argv: list[str]) -> dict[Path, tuple[str, list[str]]]:
    """Every run folder that compare.py with `argv` can make, whichever swept value is chosen: the
    method's script and the flags the run starts with (`common.runner.start_argv`)."""
    _, campaign = plan(argv)
    jobs = campaign.jobs + [(name, campaign.methods[m], s, folder / f"seed{s}", run_argv)
                            for m, values in campaign.swept.items() for name, folder, run_argv in values.values()
                            for s in campaign.seeds]
    return {folder: (METHODS[method], start_argv(run_argv, seed, folder)) for _, method, seed, folder, run_argv in jobs}


def name_contrasts(folder: Path, contrasts: str, parser) -> None:
    """Keep the campaign's planned comparisons in folder/contrasts.json before any run; refuse others
    once they are named (a family chosen after the data would not be planned)."""
    named = report.read_contrasts(folder)
    if named is not None and named != contrasts:
        parser.error(f"{folder} was planned for the contrasts {named}: a campaign names them once, before it runs "
                     f"(got {contrasts})")
    if named is None:
        write_json(folder / report.CONTRASTS, {"contrasts": contrasts})


def main():
    parser, campaign = plan(sys.argv[1:])
    args, seeds, sweep_seeds, swept = campaign.args, campaign.seeds, campaign.sweep_seeds, campaign.swept
    args.out.mkdir(parents=True, exist_ok=True)
    name_contrasts(args.out, campaign.contrasts, parser)
    runner = execute(campaign.jobs, args, seeds, parser)
    later = [s for s in seeds if s not in sweep_seeds]
    if swept and later:  # the chosen value of each swept method, on the other seeds
        jobs = []
        for m, values in report.by_value(report.load_runs(args.out)).items():
            if m in swept:
                score = report.validation_scores(values, sweep_seeds)
                name, folder, argv = swept[m][max(score, key=score.get)]
                jobs += [(name, campaign.methods[m], s, folder / f"seed{s}", argv) for s in later]
        execute(jobs, args, seeds, parser, runner)
    runs = report.load_runs(args.out)
    try:
        if campaign.sweeps:
            runs = report.choose_by_validation(runs, args.out, sweep_seeds)
        print(report.write_tables(report.table_rows(runs, reference=args.reference), args.out, args.reference))
    except UserError as error:
        parser.error(str(error))
    print(report.write_verdicts(runs, args.out))
    figures.plot_comparison(runs, args.out)


def seed_list(text: str, flag: str, parser) -> list[int]:
    try:
        return [int(s) for s in text.split(",")]
    except ValueError:
        parser.error(f"{flag} must be comma-separated integers (got {text!r})")


def execute(jobs, args, seeds, parser, runner=None):
    """Run the jobs that have not finished, seed by seed (an interrupted campaign keeps whole seeds);
    returns the runner, to be reused."""
    jobs = sorted(jobs, key=lambda job: seeds.index(job[2]))
    pending = [job for job in jobs if not finished(job[3])]
    print(f"{len(jobs)} runs in {args.out}: {len(jobs) - len(pending)} already finished, {len(pending)} to go", flush=True)
    threads = args.jobs
    if runner is None:
        runner = partial(run_script, cwd=ROOT, env=shared_cores(args.jobs))
        if args.ray is not None and pending:
            try:
                runner = RayRunner(args.ray or None, args.jobs, ROOT, args.gpus_per_job)
            except ImportError:
                parser.error("--ray needs Ray: pip install -r requirements-ray.txt")
    if isinstance(runner, RayRunner):
        threads = max(1, len(pending))  # Ray schedules them
    with ThreadPoolExecutor(threads) as pool:
        for done, line in enumerate(pool.map(partial(run_one, runner=runner), pending), 1):
            print(f"[{done}/{len(pending)}] {line}", flush=True)
    return runner

if __name__ == "__main__":
    main()
