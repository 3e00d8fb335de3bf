"""MNIST and the task sequences built on it: permuted MNIST, split MNIST and, for generation, one digit
class per task; and, as a reference, all ten digits as one task.

Images are kept once, as uint8 rows of 784 pixels in an array aligned to 64 bytes (so that TensorFlow
can use it on a CPU without a copy, common/training.py). Every task is a set of row indices into that
one array, with its own labels; a permuted task also holds its 784-entry permutation, applied batch by
batch at training time. So a sequence of 100 tasks, or the five tasks of split MNIST, need no more
image memory than the dataset itself.

Where MNIST comes from, first match wins:
1. the folder given by `--data-dir`, or else by the environment variable ANPYC_DATA_DIR: the four
   standard IDX files, checked against their well-known MD5 sums;
2. `data/mnist/` in this repository, if it holds the four files;
3. tensorflow-datasets, which downloads once into `data/tfds/` (needs the internet the first time).
"""
import gzip
import hashlib
import io
import os
import socket
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from common.errors import UserError

DATA_DIR_ENV = "ANPYC_DATA_DIR"
REPO_DATA = Path(__file__).resolve().parents[1] / "data"
IDX_FILES = {  # name: (file, the MD5 published with the original distribution)
    "train_images": ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
}
HOW_TO_GET = (
    "download the four MNIST IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) into it"
)
SPLIT_TASKS = 5
TASKS = {"permuted": 10, "split": SPLIT_TASKS, "classes": 10, "all": 1}  # the full sequence of each benchmark
PIXELS = 784


class DataError(UserError):
    """Missing, corrupt or unreachable data."""


class Split(NamedTuple):
    """Rows `index` of the images `source` (all of them, in order, when `index` is None), with their labels."""

    source: np.ndarray  # uint8 [N, 784]: the dataset's images, shared by every task drawn from it
    labels: np.ndarray  # int32 [n]: the split's own labels
    index: np.ndarray | None = None  # int32 [n]: which rows of `source`

    @property
    def images(self) -> np.ndarray:
        """The split's uint8 [n, 784] images (a copy when it is a subset of `source`)."""
        return self.source if self.index is None else self.source[self.index]


@dataclass
class Task:
    """One task of a sequence. `permutation` (or None) reorders the 784 pixels of every image."""

    name: str
    train: Split
    validation: Split
    test: Split
    classes: int
    permutation: np.ndarray | None = None
    digits: tuple = tuple(range(10))  # the MNIST digits the task's images show


ALIGNMENT = 64  # bytes: what TensorFlow asks of memory it shares (Eigen's EIGEN_MAX_ALIGN_BYTES)


def aligned_empty(shape, dtype=np.uint8) -> np.ndarray:
    """An uninitialised C-contiguous array whose data starts on an ALIGNMENT-byte boundary."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    buffer = np.empty(size + ALIGNMENT, np.uint8)
    start = -buffer.ctypes.data % ALIGNMENT
    return buffer[start:start + size].view(dtype).reshape(shape)


def _read_idx(path: Path, md5: str) -> np.ndarray:
    """An IDX file's array, decompressed piece by piece straight into aligned memory (the whole
    decompressed file is never held twice)."""
    if not path.is_file():
        raise DataError(f"missing MNIST file {path.name} in {path.parent}: {HOW_TO_GET}")
    raw = path.read_bytes()
    if hashlib.md5(raw).hexdigest() != md5:
        raise DataError(f"{path} is corrupt or truncated (MD5 does not match {md5}): download it again")
    with gzip.GzipFile(fileobj=io.BytesIO(raw)) as file:
        ndim = file.read(4)[3]
        shape = tuple(int(n) for n in np.frombuffer(file.read(4 * ndim), ">u4"))
        array = aligned_empty(shape)
        flat, filled = array.reshape(-1), 0
        while piece := file.read(1 << 20):
            flat[filled:filled + len(piece)] = np.frombuffer(piece, np.uint8)
            filled += len(piece)
    return array


def _from_folder(folder: Path):
    if not folder.is_dir():
        raise DataError(f"MNIST folder {folder} does not exist: create it and {HOW_TO_GET}")
    arrays = {key: _read_idx(folder / name, md5) for key, (name, md5) in IDX_FILES.items()}
    return (
        Split(arrays["train_images"].reshape(-1, PIXELS), arrays["train_labels"].astype(np.int32)),
        Split(arrays["test_images"].reshape(-1, PIXELS), arrays["test_labels"].astype(np.int32)),
    )


def _online(host="storage.googleapis.com", port=443, timeout=3.0) -> bool:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def _from_tfds():
    import tensorflow_datasets as tfds

    builder = tfds.builder("mnist", data_dir=str(REPO_DATA / "tfds"))
    if not builder.is_prepared():
        # Offline, tfds retries for minutes before it fails; fail within seconds instead.
        if not _online():
            raise DataError(
                f"no local MNIST files and no network for tensorflow-datasets: pass --data-dir DIR "
                f"or set {DATA_DIR_ENV}=DIR, where DIR holds the four MNIST IDX files"
            )
        builder.download_and_prepare()
    splits = []
    for name in ("train", "test"):
        images, labels = tfds.as_numpy(builder.as_dataset(split=name, batch_size=-1, as_supervised=True))
        held = aligned_empty((len(labels), PIXELS))
        held[:] = images.reshape(-1, PIXELS)
        splits.append(Split(held, labels.astype(np.int32)))
    return tuple(splits)


@lru_cache(maxsize=2)
def load_mnist(data_dir: str | None = None) -> tuple[Split, Split]:
    """(train, test) MNIST splits, from the first source in the module docstring's order."""
    folder = data_dir or os.environ.get(DATA_DIR_ENV)
    if folder:
        return _from_folder(Path(folder).expanduser())
    if all((REPO_DATA / "mnist" / name).is_file() for name, _ in IDX_FILES.values()):
        return _from_folder(REPO_DATA / "mnist")
    return _from_tfds()


def _hold_out(split: Split, subset: int | None, validation: int) -> tuple[Split, Split]:
    """The first `validation` examples become the validation split, as in the authors' loader (5,000 of
    MNIST's 60,000 training images); training keeps the first `subset` of the rest (all when None)."""
    end = len(split.labels) if subset is None else validation + subset
    index = np.arange(len(split.labels), dtype=np.int32) if split.index is None else split.index
    return (Split(split.source, split.labels[validation:end], index[validation:end]),
            Split(split.source, split.labels[:validation], index[:validation]))


def task_permutation(seed: int, task: int) -> np.ndarray:
    """The fixed pixel permutation of permuted-MNIST task `task`: depends on (seed, task) alone, so a
    10-task sequence is the prefix of the 50-task one with the same seed."""
    return np.random.default_rng([seed, task]).permutation(PIXELS).astype(np.int32)


def permuted_mnist(train: Split, test: Split, tasks: int, seed: int, subset=None, validation=0):
    """`tasks` tasks that share the MNIST images and differ by a pixel permutation each."""
    train, val = _hold_out(train, subset, validation)
    return [
        Task(f"permuted-{t}", train, val, test, classes=10, permutation=task_permutation(seed, t))
        for t in range(tasks)
    ]


NAMES = {1: "digit", 2: "split", 10: "all"}  # a task's name, by its number of digits


def digit_tasks(train: Split, test: Split, tasks: int, per_task: int, subset=None, validation=0):
    """Task t holds the `per_task` digits from per_task * t on, labelled 0, 1, ... within the task."""

    def digits(split: Split, t: int) -> Split:
        keep = np.flatnonzero((split.labels // per_task) == t).astype(np.int32)
        return Split(split.source, split.labels[keep] - per_task * t, keep)

    return [
        Task(f"{NAMES[per_task]}-{''.join(map(str, range(per_task * t, per_task * (t + 1))))}",
             *_hold_out(digits(train, t), subset, validation), digits(test, t), classes=per_task,
             digits=tuple(range(per_task * t, per_task * (t + 1))))
        for t in range(tasks)
    ]


def split_mnist(train: Split, test: Split, tasks: int, subset=None, validation=0):
    """Task t holds digits 2t and 2t+1, labelled 0 and 1."""
    return digit_tasks(train, test, tasks, 2, subset, validation)


def class_mnist(train: Split, test: Split, tasks: int, subset=None, validation=0):
    """Task t holds digit t alone (for generation: a VAE learns MNIST class by class)."""
    return digit_tasks(train, test, tasks, 1, subset, validation)


def all_mnist(train: Split, test: Split, tasks: int, subset=None, validation=0):
    """One task of all ten digits, labelled as themselves: training on i.i.d. MNIST, as the offline joint
    training (JT) of Memory Replay GANs (Wu et al. 2018, joint.py) trains its generator."""
    return digit_tasks(train, test, tasks, 10, subset, validation)


def task_size(benchmark: str, train: Split, validation: int) -> int:
    """The number of training examples of the smallest task, for validating --train-subset."""
    if benchmark == "permuted":
        return len(train.labels) - validation
    per_task = 10 // TASKS[benchmark]
    return min(int(np.sum(train.labels // per_task == t)) for t in range(TASKS[benchmark])) - validation


def make_benchmark(name: str, tasks: int, seed: int, data_dir=None, subset=None, validation=0) -> list[Task]:
    """The task sequence `name` ("permuted", "split", "classes" or "all"), checking that the sizes asked for fit."""
    train, test = load_mnist(data_dir)
    size = task_size(name, train, validation)
    if validation < 0 or size < 1:
        raise UserError(f"--validation must be in [0, {size + validation}) (got {validation})")
    if subset is not None and not 1 <= subset <= size:
        raise UserError(f"--train-subset must be in [1, {size}] for {name} MNIST (got {subset})")
    if name == "permuted":
        return permuted_mnist(train, test, tasks, seed, subset, validation)
    return {"split": split_mnist, "classes": class_mnist, "all": all_mnist}[name](train, test, tasks, subset, validation)
