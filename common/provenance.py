"""Which code produced a run: provenance.json in its results folder.

One entry per session of the run (its start, then each resume): the git commit, whether the source
files the run executes differ from that commit, a SHA-256 of the code of those files (every module of
this repository loaded by then: the script, common/, and whatever they import; their syntax trees, so
that comments, docstrings and layout do not count), the versions of Python, TensorFlow, Keras and
numpy, the device, the CPU model, the threads TensorFlow gives one op, and the start time. Two runs
with the same source hash ran the same code, whatever their commits; a run whose sessions differ in it
is a mixture of two codes, and no table pools it (common/report.py).
"""
import ast
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from common.results import write_json

ROOT = Path(__file__).resolve().parents[1]
FILE = "provenance.json"
# Top-level folders of the repository whose modules are not the project's code that a run executes.
OUTSIDE = {"tests", ".venv", "venv", "data", "results"}


def source_files() -> list[Path]:
    """The repository's modules loaded in this process, sorted by path: not the tests, and not the
    packages of a virtual environment kept inside the repository (CI's .venv)."""
    files = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and path.endswith(".py"):
            path = Path(path).resolve()
            if ROOT in path.parents and path.relative_to(ROOT).parts[0] not in OUTSIDE:
                files.add(path)
    return sorted(files)


def source_hash(files) -> str:
    """The code hash (`hash_contents`) of the given files of the repository."""
    return hash_contents((str(path.relative_to(ROOT)), path.read_bytes()) for path in files)


def code_of(source: bytes) -> bytes:
    """What a file executes: its syntax tree without docstrings, so that comments, docstrings and layout
    do not count, while any change to what runs (a constant, a message, an expression) does."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree).encode()


def hash_contents(named) -> str:
    """SHA-256 over (relative path, code) pairs of the given (relative path, content) pairs, in the
    order given (sorted by path)."""
    digest = hashlib.sha256()
    for name, content in named:
        digest.update(name.encode() + b"\0" + code_of(content) + b"\0")
    return digest.hexdigest()


def git(*args) -> str | None:
    """git's output in the repository, or None where there is no git or no repository."""
    try:
        result = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def describe(device: str) -> dict:
    """This session's entry."""
    import keras  # here, not at the top: the table tools read provenance without starting TensorFlow
    import tensorflow as tf

    files = source_files()
    relative = [str(path.relative_to(ROOT)) for path in files]
    changed = git("status", "--porcelain", "--", *relative)
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": git("rev-parse", "HEAD"),
        "uncommitted_changes": None if changed is None else bool(changed),
        "source_hash": source_hash(files),
        "source_files": relative,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "device": device,
        "cpu": cpu_model(),
        "cpu_kind": cpu_kind(),
        "threads": threads(),
    }


def cpuinfo() -> dict[str, str]:
    """The first CPU's fields in /proc/cpuinfo (empty where there is none)."""
    path = Path("/proc/cpuinfo")
    fields = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_model() -> str | None:
    """The CPU's model name (/proc/cpuinfo on Linux, else the platform's word for it): rounding in some
    kernels depends on it, so that the same code can print other digits on another machine."""
    return cpuinfo().get("model name") or platform.processor() or None


def cpu_kind() -> str | None:
    """This CPU's kind: vendor, family and model (/proc/cpuinfo's vendor_id, cpu family and model;
    AuthenticAMD-25-17 is a Zen 4 EPYC), or None where unknown. Not the vendor alone: two AMD machines
    print other digits on some drift guards (results/guard/README.md)."""
    fields = cpuinfo()
    vendor = fields.get("vendor_id")
    return f"{vendor}-{fields.get('cpu family')}-{fields.get('model')}" if vendor else None


def cores() -> int:
    """The CPU cores this process may run on (its affinity, where the system keeps one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def threads() -> int:
    """The threads TensorFlow gives one op: its setting, else TF_NUM_INTRAOP_THREADS (compare.py --jobs N
    sets it), else one per core (its default). A run on 784-1000-1000 ends in other weights with one
    thread than with two (docs/speed.md, row (s); which op, not traced)."""
    import tensorflow as tf  # as in describe

    return (tf.config.threading.get_intra_op_parallelism_threads() or int(os.environ.get("TF_NUM_INTRAOP_THREADS") or 0)
            or cores())


def record(folder: Path, device: str, resumed: bool) -> dict:
    """Add this session to folder/provenance.json (a new file unless the run is resumed); returns it."""
    path = Path(folder) / FILE
    sessions = read(folder) if resumed else []
    entry = describe(device)
    write_json(path, {"sessions": sessions + [entry]})
    return entry


def read(folder: Path) -> list[dict]:
    """The sessions recorded for the run in `folder` ([] if none)."""
    path = Path(folder) / FILE
    return json.loads(path.read_text())["sessions"] if path.exists() else []
