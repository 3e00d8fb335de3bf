"""The image datasets (MNIST, Fashion-MNIST, CIFAR-10, CIFAR-100) and the task sequences built on them:
permuted, split and, for generation, one class per task; and, as a reference, all classes as one task.

Images are kept once, as uint8 rows of height x width x channels values in an array aligned to 64 bytes
(so that TensorFlow can use it on a CPU without a copy, common/training.py). Every task is a set of row
indices into that one array, with its own labels; a permuted task also holds its permutation of the
row, applied batch by batch at training time. So a sequence of 100 tasks, or the five tasks of a split
benchmark, need no more image memory than the dataset itself.

Where a dataset comes from, first match wins:
1. for MNIST and Fashion-MNIST, the folder given by `--data-dir`, or else by the environment variable
   ANPYC_DATA_DIR: the dataset's four IDX files, in the folder itself or in its subfolder named after the dataset (`mnist/`,
   `fashion-mnist/`), each checked against the SHA-256 of its decompressed content (so a recompressed
   copy, such as Debian's Fashion-MNIST, is accepted, and another dataset's files are not);
2. `data/<subfolder>/` in this repository, if it holds the four files;
3. tensorflow-datasets, which downloads once into `data/tfds/` (needs the internet the first time). CIFAR
   comes this way only: it has no IDX files.
"""
import gzip
import hashlib
import os
import socket
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from common.errors import UserError

DATA_DIR_ENV = "ANPYC_DATA_DIR"
REPO_DATA = Path(__file__).resolve().parents[1] / "data"
IDX_FILES = {"train_images": "train-images-idx3-ubyte.gz", "train_labels": "train-labels-idx1-ubyte.gz",
             "test_images": "t10k-images-idx3-ubyte.gz", "test_labels": "t10k-labels-idx1-ubyte.gz"}


@dataclass(frozen=True)
class Dataset:
    """An image-classification dataset: what its images are, and what its IDX files hold."""

    name: str  # --dataset, and its name in tensorflow-datasets
    title: str  # in messages, tables and figures
    shape: tuple[int, int, int]  # height, width, channels
    classes: int
    split_classes: int = 2  # classes per task of the split benchmark
    folder: str | None = None  # its subfolder of a data folder of IDX files (None: tensorflow-datasets only)
    sha256: dict[str, str] | None = None  # per IDX file (IDX_FILES' keys): the SHA-256 of its decompressed content
    parts: tuple[str, ...] = ()  # or the datasets it chains, their classes numbered on, one after the other

    @property
    def pixels(self) -> int:
        """The values of one image: height x width x channels."""
        return int(np.prod(self.shape))


DATASETS = {dataset.name: dataset for dataset in (
    # LeCun, Cortes and Burges' original distribution.
    Dataset("mnist", "MNIST", (28, 28, 1), 10, folder="mnist", sha256={
        "train_images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"}),
    # Xiao, Rasul and Vollgraf 2017 (Zalando Research): ten kinds of clothing in MNIST's format.
    Dataset("fashion_mnist", "Fashion-MNIST", (28, 28, 1), 10, folder="fashion-mnist", sha256={
        "train_images": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train_labels": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "test_images": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "test_labels": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"}),
    # Krizhevsky 2009, "Learning Multiple Layers of Features from Tiny Images": 32 x 32 colour images.
    Dataset("cifar10", "CIFAR-10", (32, 32, 3), 10),
    # The same source, 100 classes; its split benchmark is ten tasks of ten classes (Zenke et al. 2017).
    Dataset("cifar100", "CIFAR-100", (32, 32, 3), 100, split_classes=10),
    # CIFAR-10's classes 0-9, then CIFAR-100's as 10-109: split into tasks of ten classes, the first task
    # is CIFAR-10 and the others CIFAR-100's classes 0-9, 10-19, ... (Zenke et al. 2017, pathint's
    # utils.construct_transfer_cifar10_cifar100).
    Dataset("cifar10_100", "CIFAR-10 then CIFAR-100", (32, 32, 3), 110, split_classes=10, parts=("cifar10", "cifar100")),
)}
PERMUTED_TASKS = 10  # the permuted benchmark's default length; any length can be asked for


def classes_per_task(benchmark: str, dataset: Dataset) -> int:
    """The classes of one task of a class-split benchmark. split: `split_classes` consecutive classes,
    labelled 0, 1, ... within the task; classes: one class (for generation: a VAE learns MNIST digit by
    digit); all: every class as one task, labelled as themselves (training on i.i.d. data, as the offline
    joint training (JT) of Memory Replay GANs (Wu et al. 2018, joint.py) trains its generator)."""
    return {"split": dataset.split_classes, "classes": 1, "all": dataset.classes}[benchmark]


def sequence_length(benchmark: str, dataset: Dataset) -> int:
    """The full sequence of a benchmark: the tasks that its classes make, or PERMUTED_TASKS."""
    if benchmark == "permuted":
        return PERMUTED_TASKS
    return dataset.classes // classes_per_task(benchmark, dataset)


def how_to_get(dataset: Dataset) -> str:
    """What a user does to get the dataset's IDX files."""
    return f"download {dataset.title}'s four IDX files ({', '.join(IDX_FILES.values())}) into it"


class DataError(UserError):
    """Missing, corrupt or unreachable data."""


class Split(NamedTuple):
    """Rows `index` of the images `source` (all of them, in order, when `index` is None), with their labels."""

    source: np.ndarray  # uint8 [N, pixels]: the dataset's images, as rows, shared by every task drawn from it
    labels: np.ndarray  # int32 [n]: the split's own labels
    index: np.ndarray | None = None  # int32 [n]: which rows of `source`

    @property
    def images(self) -> np.ndarray:
        """The split's uint8 [n, pixels] images (a copy when it is a subset of `source`)."""
        return self.source if self.index is None else self.source[self.index]


@dataclass
class Task:
    """One task of a sequence. `permutation` (or None) reorders the values of every image's row."""

    name: str
    train: Split
    validation: Split
    test: Split
    classes: int
    permutation: np.ndarray | None = None
    digits: tuple = ()  # the dataset's classes that the task's images show (MNIST's digits), as the benchmark sets them
    dataset: str = "mnist"  # DATASETS' key

    @property
    def shape(self) -> tuple[int, int, int]:
        """Height, width and channels of the task's images."""
        return DATASETS[self.dataset].shape


ALIGNMENT = 64  # bytes: what TensorFlow asks of memory it shares (Eigen's EIGEN_MAX_ALIGN_BYTES)


def aligned_empty(shape, dtype=np.uint8) -> np.ndarray:
    """An uninitialised C-contiguous array whose data starts on an ALIGNMENT-byte boundary."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    buffer = np.empty(size + ALIGNMENT, np.uint8)
    start = -buffer.ctypes.data % ALIGNMENT
    return buffer[start:start + size].view(dtype).reshape(shape)


def stacked(pieces: list[np.ndarray]) -> np.ndarray:
    """Arrays of rows, one after the other, in one aligned array (filled piece by piece: never held twice)."""
    rows, filled = aligned_empty((sum(len(piece) for piece in pieces), *pieces[0].shape[1:])), 0
    for piece in pieces:
        rows[filled:filled + len(piece)] = piece
        filled += len(piece)
    return rows


def _read_idx(path: Path, sha256: str, dataset: Dataset) -> np.ndarray:
    """An IDX file's array, decompressed piece by piece straight into aligned memory (the whole
    decompressed file is never held twice), its content checked against `sha256` on the way."""
    if not path.is_file():
        raise DataError(f"missing {dataset.title} file {path.name} in {path.parent}: {how_to_get(dataset)}")
    content = hashlib.sha256()
    try:
        with gzip.open(path) as file:
            header = file.read(4)
            shape_bytes = file.read(4 * header[3])
            content.update(header + shape_bytes)
            array = aligned_empty(tuple(int(n) for n in np.frombuffer(shape_bytes, ">u4")))
            flat, filled = array.reshape(-1), 0
            while piece := file.read(1 << 20):
                flat[filled:filled + len(piece)] = np.frombuffer(piece, np.uint8)
                filled += len(piece)
                content.update(piece)
    except (OSError, EOFError, IndexError, ValueError, zlib.error):
        content = None
    if content is None or content.hexdigest() != sha256:
        raise DataError(f"{path} is corrupt or truncated, or not {dataset.title}'s (the SHA-256 of its content "
                        f"is not {sha256}): download it again")
    return array


def _from_folder(folder: Path, dataset: Dataset):
    if not folder.is_dir():
        raise DataError(f"{dataset.title} folder {folder} does not exist: create it and {how_to_get(dataset)}")
    arrays = {key: _read_idx(folder / name, dataset.sha256[key], dataset) for key, name in IDX_FILES.items()}
    return (
        Split(arrays["train_images"].reshape(-1, dataset.pixels), arrays["train_labels"].astype(np.int32)),
        Split(arrays["test_images"].reshape(-1, dataset.pixels), arrays["test_labels"].astype(np.int32)),
    )


def _online(host="storage.googleapis.com", port=443, timeout=3.0) -> bool:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def _from_tfds(dataset: Dataset):
    import tensorflow_datasets as tfds

    builder = tfds.builder(dataset.name, data_dir=str(REPO_DATA / "tfds"))
    if not builder.is_prepared():
        # Offline, tfds retries for minutes before it fails; fail within seconds instead.
        if not _online():
            local = (f"pass --data-dir DIR or set {DATA_DIR_ENV}=DIR, where DIR (or DIR/{dataset.folder}) holds its "
                     f"four IDX files" if dataset.folder else f"prepare it where there is, and copy {REPO_DATA / 'tfds'} here")
            raise DataError(f"no local {dataset.title} files and no network for tensorflow-datasets: {local}")
        builder.download_and_prepare()
    splits = []
    for name in ("train", "test"):
        batches = list(tfds.as_numpy(builder.as_dataset(split=name, batch_size=10_000, as_supervised=True)))
        images = stacked([x.reshape(len(x), dataset.pixels) for x, _ in batches])
        splits.append(Split(images, np.concatenate([y for _, y in batches]).astype(np.int32)))
    return tuple(splits)


def local_folder(dataset: Dataset, data_dir: str | None = None) -> Path | None:
    """The folder of the dataset's IDX files, by the module docstring's order (None: tensorflow-datasets)."""
    if dataset.folder is None:
        if data_dir:
            raise DataError(f"--data-dir is a folder of IDX files, and {dataset.title} has none: it comes through "
                            f"tensorflow-datasets (into {REPO_DATA / 'tfds'})")
        return None
    folder = data_dir or os.environ.get(DATA_DIR_ENV)
    if folder:
        folder = Path(folder).expanduser()
        return folder / dataset.folder if (folder / dataset.folder).is_dir() else folder
    if all((REPO_DATA / dataset.folder / name).is_file() for name in IDX_FILES.values()):
        return REPO_DATA / dataset.folder
    return None


@lru_cache(maxsize=2)
def load(dataset: str = "mnist", data_dir: str | None = None) -> tuple[Split, Split]:
    """(train, test) splits of `dataset`, from the first source in the module docstring's order."""
    if DATASETS[dataset].parts:
        return _chained([DATASETS[part] for part in DATASETS[dataset].parts], data_dir)
    return _read(DATASETS[dataset], data_dir)


def _read(dataset: Dataset, data_dir: str | None) -> tuple[Split, Split]:
    folder = local_folder(dataset, data_dir)
    return _from_tfds(dataset) if folder is None else _from_folder(folder, dataset)


def _chained(parts: list[Dataset], data_dir: str | None) -> tuple[Split, Split]:
    """The parts' splits one after the other, each part's labels moved past the classes before it."""
    loaded = [_read(part, data_dir) for part in parts]
    offsets = np.cumsum([0] + [part.classes for part in parts[:-1]])
    chained = []
    for s in range(2):  # train, test
        labels = np.concatenate([split[s].labels + o for split, o in zip(loaded, offsets)]).astype(np.int32)
        chained.append(Split(stacked([split[s].source for split in loaded]), labels))
    return tuple(chained)


def _hold_out(split: Split, subset: int | None, validation: int) -> tuple[Split, Split]:
    """The first `validation` examples become the validation split, as in the authors' loader (5,000 of
    MNIST's 60,000 training images); training keeps the first `subset` of the rest (all when None)."""
    end = len(split.labels) if subset is None else validation + subset
    index = np.arange(len(split.labels), dtype=np.int32) if split.index is None else split.index
    return (Split(split.source, split.labels[validation:end], index[validation:end]),
            Split(split.source, split.labels[:validation], index[:validation]))


def task_permutation(seed: int, task: int, pixels: int) -> np.ndarray:
    """The fixed permutation of an image's `pixels` values for permuted task `task`: depends on (seed,
    task) alone, so a 10-task sequence is the prefix of the 50-task one with the same seed."""
    return np.random.default_rng([seed, task]).permutation(pixels).astype(np.int32)


def permuted_tasks(train: Split, test: Split, tasks: int, seed: int, subset=None, validation=0, dataset="mnist"):
    """`tasks` tasks that share the dataset's images and differ by a pixel permutation each."""
    train, val = _hold_out(train, subset, validation)
    return [
        Task(f"permuted-{t}", train, val, test, classes=DATASETS[dataset].classes,
             permutation=task_permutation(seed, t, DATASETS[dataset].pixels),
             digits=tuple(range(DATASETS[dataset].classes)), dataset=dataset)
        for t in range(tasks)
    ]


def class_tasks(train: Split, test: Split, tasks: int, per_task: int, subset=None, validation=0, dataset="mnist"):
    """Task t holds the `per_task` classes from per_task * t on, labelled 0, 1, ... within the task; its
    name lists them ("classes-2-3")."""

    def classes(split: Split, t: int) -> Split:
        keep = np.flatnonzero((split.labels // per_task) == t).astype(np.int32)
        return Split(split.source, split.labels[keep] - per_task * t, keep)

    return [
        Task("classes-" + "-".join(map(str, range(per_task * t, per_task * (t + 1)))),
             *_hold_out(classes(train, t), subset, validation), classes(test, t), classes=per_task,
             digits=tuple(range(per_task * t, per_task * (t + 1))), dataset=dataset)
        for t in range(tasks)
    ]


def task_size(benchmark: str, train: Split, validation: int, dataset: Dataset) -> int:
    """The number of training examples of the smallest task, for validating --train-subset."""
    if benchmark == "permuted":
        return len(train.labels) - validation
    per_task = classes_per_task(benchmark, dataset)
    counts = np.bincount(train.labels // per_task, minlength=sequence_length(benchmark, dataset))
    return int(counts.min()) - validation


def make_benchmark(name: str, tasks: int, seed: int, data_dir=None, subset=None, validation=0,
                   dataset: str = "mnist") -> list[Task]:
    """The task sequence `name` ("permuted", "split", "classes" or "all") of `dataset`, checking that the
    sizes asked for fit."""
    train, test = load(dataset, data_dir)
    size = task_size(name, train, validation, DATASETS[dataset])
    if validation < 0 or size < 1:
        raise UserError(f"--validation must be in [0, {size + validation}) (got {validation})")
    if subset is not None and not 1 <= subset <= size:
        raise UserError(f"--train-subset must be in [1, {size}] for {name} {DATASETS[dataset].title} (got {subset})")
    if name == "permuted":
        return permuted_tasks(train, test, tasks, seed, subset, validation, dataset)
    return class_tasks(train, test, tasks, classes_per_task(name, DATASETS[dataset]), subset, validation, dataset)
