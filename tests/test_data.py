"""The MNIST loader and the two task sequences."""
import gzip
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from common import data, training
from common.errors import UserError


@pytest.fixture(scope="module")
def mnist():
    return data.load_mnist()


def test_mnist_shapes(mnist):
    train, test = mnist
    assert train.images.shape == (60000, 784) and test.images.shape == (10000, 784)
    assert train.images.dtype == np.uint8
    assert sorted(np.unique(train.labels)) == list(range(10))


def test_permutations_are_fixed_bijections():
    first = data.task_permutation(seed=3, task=1)
    assert sorted(first) == list(range(784))
    assert np.array_equal(first, data.task_permutation(seed=3, task=1))
    assert not np.array_equal(first, data.task_permutation(seed=3, task=2))
    assert not np.array_equal(first, data.task_permutation(seed=4, task=1))


def test_every_task_draws_its_rows_from_the_loaders_one_array(mnist):
    train, test = mnist
    for tasks in (data.permuted_mnist(train, test, tasks=50, seed=0, validation=100), data.split_mnist(train, test, 5)):
        assert all(t.train.source is t.validation.source is train.source and t.test.source is test.source
                   for t in tasks)
    assert train.source.ctypes.data % data.ALIGNMENT == 0 and test.source.ctypes.data % data.ALIGNMENT == 0


def test_the_cpu_tensor_of_the_images_is_the_loaders_memory(monkeypatch):
    monkeypatch.setattr(training, "held_dtype", lambda: tf.uint8)
    shared, unaligned = data.aligned_empty((3, 784)), np.empty(3 * 784 + 1, np.uint8)[1:].reshape(3, 784)
    for images in (shared, unaligned):
        images[:] = 7
    held = {name: training.held_images(images) for name, images in (("shared", shared), ("unaligned", unaligned))}
    shared[1, 5] = unaligned[1, 5] = 200
    assert int(held["shared"][1, 5]) == 200 and int(held["unaligned"][1, 5]) == 7  # a copy, not an abort


def test_split_tasks_hold_their_two_digits(mnist):
    train, test = mnist
    tasks = data.split_mnist(train, test, tasks=5)
    for t, task in enumerate(tasks):
        for split, source in ((task.train, train), (task.test, test)):
            assert sorted(np.unique(split.labels)) == [0, 1]
            expected = source.images[(source.labels // 2) == t]
            assert np.array_equal(split.images, expected)
    assert sum(len(t.test.labels) for t in tasks) == 10000


def test_all_is_one_task_of_every_digit_labelled_as_itself(mnist):
    train, test = mnist
    (task,) = data.make_benchmark("all", 1, 0, validation=5000)
    assert (task.name, task.classes, task.digits) == ("all-0123456789", 10, tuple(range(10)))
    assert np.array_equal(task.test.images, test.images) and np.array_equal(task.test.labels, test.labels)
    assert np.array_equal(task.validation.labels, train.labels[:5000])  # held out first, as every benchmark's
    assert np.array_equal(task.train.images, train.images[5000:])


def test_subset_and_validation(mnist):
    tasks = data.make_benchmark("permuted", 2, 0, subset=1000, validation=5000)
    assert len(tasks[0].train.labels) == 1000 and len(tasks[0].validation.labels) == 5000
    assert np.array_equal(tasks[0].validation.images, mnist[0].images[:5000])  # the authors' split
    assert np.array_equal(tasks[0].train.images, mnist[0].images[5000:6000])
    with pytest.raises(UserError, match="--train-subset must be in"):
        data.make_benchmark("split", 5, 0, subset=20000)


@pytest.fixture
def data_copy(tmp_path):
    source = os.environ.get(data.DATA_DIR_ENV) or data.REPO_DATA / "mnist"
    for name, _ in data.IDX_FILES.values():
        shutil.copy(os.path.join(source, name), tmp_path / name)
    return tmp_path


def test_missing_folder_and_file(tmp_path, data_copy):
    with pytest.raises(data.DataError, match="does not exist"):
        data._from_folder(tmp_path / "nowhere")
    (data_copy / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DataError, match="missing MNIST file t10k-labels-idx1-ubyte.gz"):
        data._from_folder(data_copy)


@pytest.mark.parametrize("damage", ["truncate", "corrupt"])
def test_damaged_file_is_named(data_copy, damage):
    path = data_copy / "train-labels-idx1-ubyte.gz"
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    else:
        path.write_bytes(gzip.compress(gzip.decompress(raw)[:-1] + b"\x07"))
    with pytest.raises(data.DataError, match="train-labels-idx1-ubyte.gz is corrupt or truncated"):
        data._from_folder(data_copy)


def test_no_local_data_and_no_network_fails_fast(monkeypatch, tmp_path):
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(data, "REPO_DATA", tmp_path)
    monkeypatch.setattr(data, "_online", lambda: False)
    data.load_mnist.cache_clear()
    try:
        with pytest.raises(data.DataError, match="no network for tensorflow-datasets: pass --data-dir DIR"):
            data.load_mnist()
    finally:
        data.load_mnist.cache_clear()
