"""Compare methods on one shared protocol: every chosen method over several seeds, one results folder
per (method, seed), then the table and figures of the whole comparison.

    python compare.py --out results/permuted-10 --seeds 0,1,2 -- --tasks 10 --epochs 5

Everything after `--` goes to every script (the core flags: benchmark, tasks, epochs, network, ...).
`--method-flags NAME="FLAGS"` adds flags for one method only. A second invocation skips the runs that
already finished, so an interrupted comparison resumes where it stopped.
"""
import argparse
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import report
from common.results import RESULTS

ROOT = Path(__file__).resolve().parent
METHODS = {
    "anpyc_wi_np": "anpyc_wi_np.py",
    "anpyc_wo_np": "anpyc_wo_np.py",
    "ewc": "baselines/ewc.py",
    "mas": "baselines/mas.py",
    "si": "baselines/si.py",
    "lwf": "baselines/lwf.py",
    "joint": "baselines/joint.py",
    "finetuning": "baselines/finetuning.py",
    "sgd_frozen": "baselines/sgd_frozen.py",
    "sgd_single_head": "baselines/sgd_single_head.py",
}


def finished(folder: Path) -> bool:
    return any(run["path"] == folder for run in report.load_runs(folder)) if folder.exists() else False


def run_one(job):
    method, seed, folder, argv = job
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(folder / "log.txt", "w") as log:
        code = subprocess.call([sys.executable, METHODS[method], *argv, "--seed", str(seed), "--out", str(folder)],
                               cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    last = (folder / "log.txt").read_text().strip().splitlines()[-1:] or [""]
    status = "done" if code == 0 else f"FAILED ({last[0]})"
    return f"{method} seed {seed}: {status} in {time.perf_counter() - start:.0f}s"


def main():
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=RESULTS / "compare", help="the comparison's folder")
    parser.add_argument("--methods", default="all", help=f"comma-separated, from: {', '.join(METHODS)}")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel (each uses every core it can)")
    parser.add_argument("--method-flags", action="append", default=[], metavar='NAME="FLAGS"',
                        help="extra flags for one method, e.g. anpyc_wi_np=\"--retrain-epochs 2\"")
    args = parser.parse_args(argv[:split])
    protocol = argv[split + 1:]
    methods = list(METHODS) if args.methods == "all" else args.methods.split(",")
    unknown = [m for m in methods if m not in METHODS]
    if unknown or args.jobs < 1:
        parser.error(f"unknown method {unknown[0]}" if unknown else "--jobs must be >= 1")
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        parser.error(f"--seeds must be comma-separated integers (got {args.seeds!r})")
    extra = {}
    for item in args.method_flags:
        name, _, flags = item.partition("=")
        if name not in METHODS:
            parser.error(f"--method-flags: unknown method {name!r}")
        extra[name] = shlex.split(flags)

    jobs = [(m, s, args.out / m / f"seed{s}", protocol + extra.get(m, [])) for m in methods for s in seeds]
    pending = [job for job in jobs if not finished(job[2])]
    print(f"{len(jobs)} runs in {args.out}: {len(jobs) - len(pending)} already finished, {len(pending)} to go", flush=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        for done, line in enumerate(pool.map(run_one, pending), 1):
            print(f"[{done}/{len(pending)}] {line}", flush=True)
    runs = report.load_runs(args.out)
    print(report.write_tables(report.table_rows(runs), args.out))
    report.plot_comparison(runs, args.out)


if __name__ == "__main__":
    main()
