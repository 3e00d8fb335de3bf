"""The class-incremental scenario: one head over the classes seen so far, no task identity at test, and
replay against fine-tuning where regularisers fail."""
import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from baselines import finetuning, replay
from common import models
from common.method import Method
from conftest import QUICK, QUICK_GENERATIVE, ROOT, cut_and_resumed, quick_run

SPLIT = ["--benchmark", "split", "--scenario", "class", "--tasks", "3", "--train-subset", "600", "--epochs", "3",
         "--optimizer", "adam", "--lr", "0.001", "--init", "glorot"]


def softmax_cross_entropy(logits, label):
    logits = logits - logits.max()
    return np.log(np.exp(logits).sum()) - logits[label]


def test_the_head_covers_the_active_classes_by_hand():
    network = models.build("mlp", [3], 1, 6, 0.0, (28, 28, 1), "glorot", per_task=2)  # 3 tasks of 2 classes
    dense, head = network.trunk[0], network.heads[0]
    dense.kernel.assign(np.zeros((784, 3)))
    dense.bias.assign([1.0, 2.0, 0.5])
    head.kernel.assign(np.arange(18, dtype=np.float32).reshape(3, 6) / 10 - np.array([0, 0, 0, 0, 0, 2.5]))
    head.bias.assign([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    x = tf.zeros([1, 784])
    full = np.array([1.0, 2.0, 0.5]) @ (np.arange(18).reshape(3, 6) / 10 - [0, 0, 0, 0, 0, 2.5]) + [0, .1, .2, .3, .4, .5]
    for task, active in ((0, 2), (1, 4), (2, 6)):
        network.start_task(task)
        logits = full[:active]
        np.testing.assert_allclose(network.forward(x, task).numpy()[0], logits, rtol=1e-6)
        loss, _ = network.task_loss(x, tf.constant([1]), task)  # task t's label 1 is class 2t + 1
        assert float(loss) == pytest.approx(softmax_cross_entropy(logits, 2 * task + 1), rel=1e-5)
        p = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        assert float(network.entropy(x, task)) == pytest.approx(-(p * np.log(p)).sum(), rel=1e-5)
        predicted = int(np.argmax(logits))
        assert float(network.score(x, tf.constant([predicted - 2 * task]), task)[0]) == 100.0
    assert int(np.argmax(full[:4])) == 3 and int(np.argmax(full)) == 4  # the 6th class's turn changes the answer


def test_no_task_identity_at_test():
    network = models.build("mlp", [16], 1, 10, 0.0, (28, 28, 1), "glorot", per_task=2)
    network.start_task(4)
    x = tf.random.stateless_uniform([50, 784], [1, 2])
    outputs = [network.forward(x, task).numpy() for task in range(5)]
    assert all(np.array_equal(outputs[0], o) for o in outputs[1:]) and outputs[0].shape == (50, 10)
    predicted = outputs[0].argmax(1)
    for task in range(5):  # a task's images are scored against its digits among all ten
        y = tf.constant(predicted - 2 * task, tf.int32)
        assert (network.score(x, y, task).numpy() == 100.0).all()


@pytest.fixture(scope="module")
def finetuning_class(tmp_path_factory):
    return quick_run(finetuning, Method, tmp_path_factory.mktemp("ft"), *SPLIT)


def test_fine_tuning_forgets_every_old_class(finetuning_class):
    assert finetuning_class[0][0] > 90  # two digits learned ...
    assert max(finetuning_class[-1][:-1]) < 10  # ... and lost: the new classes take every prediction
    assert finetuning_class[-1][-1] > 90


def test_replay_forgets_less_than_fine_tuning(finetuning_class, tmp_path):
    matrix = quick_run(replay, replay.Replay, tmp_path, *SPLIT, "--memory", "200")
    assert np.mean(matrix[-1][:-1]) > np.mean(finetuning_class[-1][:-1]) + 40
    assert np.mean(matrix[-1]) > 70  # one of six digits: chance is 17%


def test_a_class_incremental_run_resumes_to_the_same_matrix(tmp_path):
    whole = quick_run(replay, replay.Replay, tmp_path / "whole", *SPLIT, "--memory", "200")
    resumed = cut_and_resumed(replay, replay.Replay, tmp_path / "cut", *SPLIT, "--memory", "200", at_task=2)
    assert resumed["accuracy"] == whole
    assert json.loads((tmp_path / "cut" / "config.json").read_text())["scenario"] == "class"


def test_the_memory_is_class_balanced_and_nested():
    rng = np.random.default_rng(0)
    labels = [rng.integers(0, 2, 300), rng.integers(0, 2, 300), rng.integers(0, 2, 300)]
    two, three = replay.class_balanced(labels[:2], 100, seed=0), replay.class_balanced(labels, 100, seed=0)
    for kept, y in zip(two, labels):
        assert np.bincount(y[kept]).tolist() == [25, 25]
    for kept, y in zip(three, labels):
        assert np.bincount(y[kept]).tolist() == [16, 16]
    assert all(set(small) <= set(large) for small, large in zip(three, two))  # a smaller share is a subset


@pytest.mark.parametrize("script,argv,message", [
    ("anpyc_vae.py", ["--scenario", "class"], "--scenario class is for classifiers"),
    ("baselines/replay.py", ["--memory", "5"], "--memory 5 cannot keep an image of each of the 10 classes"),
])
def test_impossible_class_settings_are_one_line(script, argv, message, tmp_path):
    quick = QUICK_GENERATIVE if script == "anpyc_vae.py" else QUICK
    result = subprocess.run([sys.executable, script, *quick, "--epochs", "1", "--train-subset", "100", *argv,
                             "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0 and message in result.stderr and result.stderr.strip().count("\n") == 0
