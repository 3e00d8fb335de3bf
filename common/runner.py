"""Running one (method, seed) job of compare.py: as a local process, or as a Ray task on a cluster.

Both run the method's script into the job's results folder, resuming it from its checkpoint if an
earlier attempt was interrupted. A Ray task runs on whichever machine Ray chooses, with no shared
filesystem: the repository travels as Ray's working_dir, the folder of an interrupted run travels to
the worker, and the finished folder comes back (without its checkpoint, unless the run failed, so
that it can be resumed).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common.provenance import cores
from common.results import make_folder, write_atomic

CHECKPOINT = "checkpoint.npz"
THREADS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")


def start_argv(argv: list, seed: int, folder: Path) -> list:
    """The flags a job's run starts with: its method's and protocol's, then its seed and folder."""
    return [*argv, "--seed", str(seed), "--out", str(folder), "--overwrite"]


def threads_each(jobs: int) -> int:
    """Each of `jobs` runs' share of this machine's cores: rounded down, at least one."""
    return max(1, cores() // jobs)


def shared_cores(jobs: int) -> dict[str, str]:
    """What the environment of each of `jobs` runs that share this machine's cores adds: TensorFlow's and
    OpenMP's threads, each run's share of the cores (rounded down, at least one); nothing for one run, or
    where the environment sets any of them. Two runs on two cores took 8 to 21% less time a task than
    with TensorFlow's default, one thread per core in every run (docs/speed.md, row (s))."""
    if jobs <= 1 or any(name in os.environ for name in THREADS):
        return {}
    return dict.fromkeys(THREADS, str(threads_each(jobs)))


def run_script(script: str, folder: Path, seed: int, argv: list, cwd, env: dict | None = None) -> tuple[int, bool]:
    """Run `script` (a path relative to `cwd`) into `folder`, its output in folder/log.txt, with `env`
    added to the environment; returns the exit code and whether it resumed an interrupted run."""
    folder.mkdir(parents=True, exist_ok=True)
    resume = (folder / CHECKPOINT).exists()
    # Without a checkpoint, whatever an earlier attempt left (it died before its first task ended) is replaced.
    argv = ["--resume", str(folder)] if resume else start_argv(argv, seed, folder)
    with open(folder / "log.txt", "a" if resume else "w") as log:
        code = subprocess.call([sys.executable, script, *argv], cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, **(env or {})})
    return code, resume


def folder_files(folder: Path, checkpoint: bool) -> dict[str, bytes]:
    """The folder's files by name, the checkpoint (if kept) last."""
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and (checkpoint or p.name != CHECKPOINT)}
    return dict(sorted(files.items(), key=lambda item: item[0] == CHECKPOINT))


def on_worker(script: str, seed: int, argv: list, files: dict) -> tuple[int, bool, dict]:
    """The Ray task: the run in a fresh folder on this machine (from an interrupted run's `files`, if
    any); returns its exit code, whether it resumed, and its folder's files."""
    scratch = Path(tempfile.mkdtemp())
    try:
        folder = scratch / "run"
        folder.mkdir()
        for name, content in files.items():
            (folder / name).write_bytes(content)
        code, resume = run_script(script, folder, seed, argv, cwd=os.getcwd())  # cwd: Ray's copy of the repo
        return code, resume, folder_files(folder, checkpoint=code != 0)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class RayRunner:
    """Runs jobs as Ray tasks of one CPU (and `gpus`, a share of a GPU) each, with TensorFlow's and
    OpenMP's threads at one, that CPU (each variable the driver's environment does not set): on a new
    local Ray instance of `cpus` CPUs, or on the cluster at `address` ("auto": the one `ray start` runs on
    this machine)."""

    def __init__(self, address: str | None, cpus: int, root: Path, gpus: float = 0.0):
        import ray

        env = {name: os.environ[name] for name in ("ANPYC_DATA_DIR",) if name in os.environ}
        env |= {name: os.environ.get(name, "1") for name in THREADS}  # a task's one CPU (shared_cores)
        runtime_env = {"working_dir": str(root), "env_vars": env,
                       "excludes": ["/results/", "/data/", "/.git/", "/.venv/", "/venv/", "__pycache__/"]}
        quiet = dict(logging_level="ERROR", log_to_driver=False, include_dashboard=False)
        if address:
            ray.init(address=address, runtime_env=runtime_env, **quiet)
        else:
            ray.init(num_cpus=cpus, runtime_env=runtime_env, **quiet)
        # No retries by Ray: a task whose worker died would start again from the files it was sent, not from
        # its last finished task; the campaign reports it failed, and the next compare.py resumes it.
        self.ray, self.task = ray, ray.remote(num_cpus=1, num_gpus=gpus, max_retries=0)(on_worker)

    def __call__(self, script: str, folder: Path, seed: int, argv: list) -> tuple[int, bool]:
        interrupted = folder / CHECKPOINT
        files = folder_files(folder, checkpoint=True) if interrupted.exists() else {}
        code, resume, files = self.ray.get(self.task.remote(script, seed, argv, files))
        make_folder(folder)
        if "config.json" in files:  # it names the worker's scratch folder
            files["config.json"] = json.dumps(json.loads(files["config.json"]) | {"out": str(folder)}, indent=2) + "\n"
        for name, content in files.items():  # each file whole or not at all, the checkpoint last
            write_atomic(folder / name, content)
        if CHECKPOINT not in files:  # the run finished: the checkpoint it resumed from is spent
            interrupted.unlink(missing_ok=True)
        return code, resume
