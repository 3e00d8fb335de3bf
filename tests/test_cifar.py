"""CIFAR-10 and CIFAR-100 through tensorflow-datasets. There is no CIFAR on this machine or in CI, and no
internet: tensorflow-datasets' mock data (random images of CIFAR's shape and classes) stands in for it, so
these tests show the loading, the task sequences and a few training steps, not any accuracy."""
import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")

from baselines import finetuning, si  # noqa: E402
from common import cli, data  # noqa: E402
from common.errors import UserError  # noqa: E402
from common.method import Method  # noqa: E402
from common.run import run  # noqa: E402

EXAMPLES = 2000  # per split: 20 images a class of CIFAR-100 on average


@pytest.fixture
def mock_cifar(monkeypatch):
    """tensorflow-datasets' mock data, with the network check passed (mock data needs none) and the
    loader's cache emptied before and after, so no other test sees these images."""
    monkeypatch.setattr(data, "_online", lambda: True)
    data.load.cache_clear()
    with tfds.testing.mock_data(num_examples=EXAMPLES):
        yield
    data.load.cache_clear()


@pytest.mark.parametrize("name,classes,tasks", [("cifar10", 10, 5), ("cifar100", 100, 10)])
def test_cifar_loads_as_rows_of_colour_images_and_splits_into_tasks(mock_cifar, name, classes, tasks):
    train, test = data.load(name)
    assert train.images.shape == (EXAMPLES, 32 * 32 * 3) and train.images.dtype == np.uint8
    assert train.source.ctypes.data % data.ALIGNMENT == 0 and train.labels.max() < classes
    split = data.make_benchmark("split", tasks, 0, dataset=name)
    per_task = classes // tasks  # CIFAR-10: 5 tasks of 2 classes; CIFAR-100: 10 tasks of 10 (Zenke et al. 2017)
    assert [t.digits for t in split] == [tuple(range(per_task * t, per_task * (t + 1))) for t in range(tasks)]
    last = split[-1]
    assert (last.shape, last.classes, last.name) == ((32, 32, 3), per_task, "classes-" + "-".join(map(str, last.digits)))
    assert np.array_equal(last.test.images, test.images[test.labels // per_task == tasks - 1])
    assert sorted(np.unique(last.train.labels)) == list(range(per_task))
    permuted = data.make_benchmark("permuted", 2, 0, dataset=name)
    assert sorted(permuted[1].permutation) == list(range(32 * 32 * 3))


def test_cifar10_then_cifar100_chains_their_classes(mock_cifar):
    (train10, test10), (train100, _) = data.load("cifar10"), data.load("cifar100")
    train, test = data.load("cifar10_100")
    assert np.array_equal(train.images, np.concatenate([train10.images, train100.images]))
    assert np.array_equal(train.labels, np.concatenate([train10.labels, train100.labels + 10]))
    tasks = data.make_benchmark("split", 6, 0, dataset="cifar10_100")  # Zenke et al.'s six tasks
    assert [t.digits[0] for t in tasks] == [0, 10, 20, 30, 40, 50] and {t.classes for t in tasks} == {10}
    assert np.array_equal(tasks[0].test.images, test10.images) and np.array_equal(tasks[0].test.labels, test10.labels)
    assert np.array_equal(tasks[1].train.images, train100.images[train100.labels < 10])


def test_a_data_folder_is_refused_for_cifar(mock_cifar):
    with pytest.raises(UserError, match="--data-dir is a folder of IDX files, and CIFAR-10 has none"):
        data.load("cifar10", "some/folder")


def test_cifar_is_not_read_from_the_mnist_folder_nor_fetched_offline(monkeypatch):
    monkeypatch.setattr(data, "_online", lambda: False)
    monkeypatch.setattr(data, "REPO_DATA", data.REPO_DATA / "no-such-folder")  # nothing prepared
    data.load.cache_clear()
    with pytest.raises(UserError, match="no local CIFAR-100 files and no network for tensorflow-datasets"):
        data.load("cifar100")
    data.load.cache_clear()


@pytest.mark.parametrize("model,argv", [("cnn", ["--model", "cnn"]), ("mlp", []),
                                        ("vae", ["--protocol", "vae", "--latent", "4"]),
                                        ("gan", ["--protocol", "gan", "--latent", "4"])])
def test_a_few_steps_on_split_cifar(mock_cifar, model, argv, tmp_path):
    """The CNN, the MLP, the VAE and the GAN take CIFAR's 32x32x3 images: one task of a few batches each."""
    config = cli.parse(finetuning.HPARAMS, {}, "", [
        *argv, "--dataset", "cifar10", "--hidden", "16", "--tasks", "1", "--epochs", "1", "--train-subset", "64",
        "--batch-size", "32", "--out", str(tmp_path)])
    matrices = run(Method, config, log=lambda *_: None)
    assert len(matrices["accuracy"]) == 1 and 0.0 <= matrices["accuracy"][0][0] <= 100.0
    if model in ("vae", "gan"):
        assert (tmp_path / "samples.png").stat().st_size > 0  # in colour, from the 3-channel grid


def test_a_few_steps_of_zenke_et_als_split_cifar_with_their_si(mock_cifar, tmp_path):
    """Their protocol (--protocol zenke2017-split-cifar) with their SI strength, cut to two tasks of a few
    batches each: their CNN, zero heads, Adam reset at each task."""
    config = cli.parse(si.HPARAMS, si.FLAGS, "", ["--protocol", "zenke2017-split-cifar", "--c", "0.1", "--xi", "0.001",
                                                  "--tasks", "2", "--epochs", "1", "--train-subset", "64",
                                                  "--out", str(tmp_path)])
    assert (config.dataset, config.model, config.batch_size, config.optimizer_state) == ("cifar10_100", "zenke", 256, "reset")
    matrices = run(si.SI, config, log=lambda *_: None)
    assert [len(row) for row in matrices["accuracy"]] == [1, 2]


def test_memory_replay_gans_network_refuses_cifar_in_one_line(mock_cifar, tmp_path):
    config = cli.parse(finetuning.HPARAMS, {}, "", ["--protocol", "mergan", "--dataset", "cifar10", "--out", str(tmp_path)])
    with pytest.raises(UserError, match="--model mergan is Memory Replay GANs' MNIST network .*CIFAR-10's are 32x32x3 of 10"):
        run(Method, config, log=lambda *_: None)
