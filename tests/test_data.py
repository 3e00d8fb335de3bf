"""The loader of MNIST and Fashion-MNIST, and the task sequences."""
import gzip
import shutil

import numpy as np
import pytest
import tensorflow as tf

from common import data, training
from common.errors import UserError


@pytest.fixture(scope="module")
def mnist():
    return data.load("mnist")


def test_mnist_shapes(mnist):
    train, test = mnist
    assert train.images.shape == (60000, 784) and test.images.shape == (10000, 784)
    assert train.images.dtype == np.uint8
    assert sorted(np.unique(train.labels)) == list(range(10))


def test_a_compiled_batch_is_scaled_exactly_as_an_eager_one():
    # The graph optimiser rewrites a division by a constant into a product by its reciprocal, which moves
    # the last bit of half of the 256 values; every compiled loop scales batches through training.pixels.
    values = tf.constant(np.arange(256, dtype=np.uint8)[None])
    exact = training.scaled(values).numpy()
    assert np.array_equal(tf.function(training.pixels)(values).numpy(), exact)
    assert not np.array_equal(tf.function(lambda x: tf.cast(x, tf.float32) / 255.0)(values).numpy(), exact)


def test_permutations_are_fixed_bijections():
    first = data.task_permutation(seed=3, task=1, pixels=784)
    assert sorted(first) == list(range(784))
    assert np.array_equal(first, data.task_permutation(seed=3, task=1, pixels=784))
    assert not np.array_equal(first, data.task_permutation(seed=3, task=2, pixels=784))
    assert not np.array_equal(first, data.task_permutation(seed=4, task=1, pixels=784))


def test_every_task_draws_its_rows_from_the_loaders_one_array(mnist):
    train, test = mnist
    for tasks in (data.permuted_tasks(train, test, tasks=50, seed=0, validation=100), data.class_tasks(train, test, 5, 2)):
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
    tasks = data.make_benchmark("split", 5, 0)
    for t, task in enumerate(tasks):
        for split, source in ((task.train, train), (task.test, test)):
            assert sorted(np.unique(split.labels)) == [0, 1]
            expected = source.images[(source.labels // 2) == t]
            assert np.array_equal(split.images, expected)
    assert sum(len(t.test.labels) for t in tasks) == 10000


def test_all_is_one_task_of_every_digit_labelled_as_itself(mnist):
    train, test = mnist
    (task,) = data.make_benchmark("all", 1, 0, validation=5000)
    assert (task.name, task.classes, task.digits) == ("classes-0-1-2-3-4-5-6-7-8-9", 10, tuple(range(10)))
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
    source = data.local_folder(MNIST)
    for name in data.IDX_FILES.values():
        shutil.copy(source / name, tmp_path / name)
    return tmp_path


MNIST, FASHION = data.DATASETS["mnist"], data.DATASETS["fashion_mnist"]


def test_missing_folder_and_file(tmp_path, data_copy):
    with pytest.raises(data.DataError, match="does not exist"):
        data._from_folder(tmp_path / "nowhere", MNIST)
    (data_copy / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DataError, match="missing MNIST file t10k-labels-idx1-ubyte.gz"):
        data._from_folder(data_copy, MNIST)


@pytest.mark.parametrize("damage", ["truncate", "corrupt"])
def test_damaged_file_is_named(data_copy, damage):
    path = data_copy / "train-labels-idx1-ubyte.gz"
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    else:
        path.write_bytes(gzip.compress(gzip.decompress(raw)[:-1] + b"\x07"))
    with pytest.raises(data.DataError, match="train-labels-idx1-ubyte.gz is corrupt or truncated, or not MNIST's"):
        data._from_folder(data_copy, MNIST)


def test_the_content_is_checked_not_the_compression(data_copy):
    # Debian recompressed Fashion-MNIST: the same content under other gzip bytes must load
    path = data_copy / "train-labels-idx1-ubyte.gz"
    raw = path.read_bytes()
    path.write_bytes(gzip.compress(gzip.decompress(raw), compresslevel=1))
    assert path.read_bytes() != raw
    train, _ = data._from_folder(data_copy, MNIST)
    assert np.array_equal(train.labels, data.load("mnist")[0].labels)
    with pytest.raises(data.DataError, match="train-images-idx3-ubyte.gz is corrupt or truncated, or not Fashion-MNIST's"):
        data._from_folder(data_copy, FASHION)  # MNIST's files, read as Fashion-MNIST's


def test_fashion_mnist_is_ten_kinds_of_clothing_in_mnists_format(mnist):
    train, test = data.load("fashion_mnist")
    assert train.images.shape == (60000, 784) and test.images.shape == (10000, 784)
    assert np.bincount(train.labels).tolist() == [6000] * 10 and np.bincount(test.labels).tolist() == [1000] * 10
    assert not np.array_equal(train.images[:100], mnist[0].images[:100])
    tasks = data.make_benchmark("split", 5, 0, dataset="fashion_mnist")
    assert [t.dataset for t in tasks] == ["fashion_mnist"] * 5 and tasks[4].digits == (8, 9)
    assert np.array_equal(tasks[4].test.images, test.images[test.labels >= 8])


def test_a_data_folder_holds_the_files_or_a_subfolder_per_dataset(tmp_path, data_copy):
    assert data.local_folder(MNIST, str(data_copy)) == data_copy  # the files themselves
    (tmp_path / "mnist").mkdir()
    assert data.local_folder(MNIST, str(tmp_path)) == tmp_path / "mnist"
    assert data.local_folder(FASHION, str(tmp_path)) == tmp_path  # no fashion-mnist/: the folder itself


def test_no_local_data_and_no_network_fails_fast(monkeypatch, tmp_path):
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(data, "REPO_DATA", tmp_path)
    monkeypatch.setattr(data, "_online", lambda: False)
    data.load.cache_clear()
    try:
        with pytest.raises(data.DataError, match="no local Fashion-MNIST files and no network for tensorflow-datasets: "
                                                 "pass --data-dir DIR"):
            data.load("fashion_mnist")
    finally:
        data.load.cache_clear()
