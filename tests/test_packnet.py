"""PackNet: finished tasks never move, frozen weights stay bit-identical, free capacity is shared out and
never negative, and a run with nothing left to train stops in one line."""
import json
import subprocess
import sys

import numpy as np
import pytest

from baselines import packnet
from common import data
from common.errors import UserError
from common.run import network
from common.training import Trainer
from conftest import QUICK, ROOT, configure, cut_and_resumed, quick_run

SLICE = ["--train-subset", "500", "--epochs", "4", "--retrain-epochs", "2"]


def trainer_for(tmp_path, *argv):
    config = configure(packnet, *SLICE, *argv, out=tmp_path)
    tasks = data.make_benchmark(config.benchmark, config.tasks, config.seed, config.data_dir, config.train_subset)
    return Trainer(network(config, tasks), tasks, packnet.PackNet(config), config, log=lambda *_: None)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])  # Adam's momentum must not move a frozen weight either
def test_a_finished_task_keeps_its_weights_and_its_accuracy_exactly(optimizer, tmp_path):
    trainer = trainer_for(tmp_path, "--optimizer", optimizer, "--lr", "0.1" if optimizer == "sgd" else "0.001")
    method, model = trainer.method, trainer.model
    trainer.learn(0)
    owned = [o.numpy() == 1 for o in method.owner]
    kernels = [k.numpy().copy() for k in method.kernels]
    biases = [b.numpy().copy() for b in method.biases]
    accuracy = trainer.score(0)
    assert accuracy > 50
    for task in (1, 2):
        trainer.learn(task)
        assert all(np.array_equal(k.numpy()[o], before[o]) for k, o, before in zip(method.kernels, owned, kernels))
        assert all(np.array_equal(b.numpy(), before) for b, before in zip(method.biases, biases))
        assert trainer.score(0) == accuracy  # exactly: what task 1 uses has not changed
    assert trainer.score(2) > 50  # the last task learns on what is left


def test_the_share_schedule_gives_every_task_the_same_share_of_each_tensor(tmp_path):
    trainer = trainer_for(tmp_path)
    for task in range(3):
        trainer.learn(task)
    for owner in trainer.method.owner:
        counts = [(owner.numpy() == t).sum() for t in (1, 2, 3)]
        assert sum(counts) == owner.numpy().size  # the last task takes what is left: nothing stays free
        assert max(counts) - min(counts) <= 2  # a third each, up to the floors
    assert trainer.method.report()["free_capacity"] == pytest.approx([2 / 3, 1 / 3, 0.0], abs=1e-3)


def test_a_task_is_tested_with_the_weights_of_tasks_up_to_its_own(tmp_path):
    trainer = trainer_for(tmp_path)
    for task in range(2):
        trainer.learn(task)
    method = trainer.method
    with method.evaluating(trainer, 0):
        seen = [k.numpy() for k in method.kernels]
    assert all((s[o.numpy() == 2] == 0).all() for s, o in zip(seen, method.owner))  # task 2's weights hidden
    assert all(np.array_equal(s[o.numpy() == 1], k.numpy()[o.numpy() == 1]) for s, o, k in zip(seen, method.owner, method.kernels))
    assert any((k.numpy()[o.numpy() == 2] != 0).any() for o, k in zip(method.owner, method.kernels))  # and restored


def test_the_fixed_fraction_prunes_that_share_of_what_the_task_trained(tmp_path):
    trainer = trainer_for(tmp_path, "--prune-fraction", "0.5")
    trainer.learn(0)
    trainer.learn(1)
    for owner in trainer.method.owner:
        size = owner.numpy().size
        assert (owner.numpy() == 1).sum() == size - size // 2
        assert (owner.numpy() == 0).sum() == (size // 2) // 2
    assert trainer.method.report()["free_capacity"][0] == pytest.approx(0.5, abs=1e-3)


def test_nothing_left_to_train_is_refused_in_one_line(tmp_path):
    with pytest.raises(UserError, match="no free weight left for task 2 of 3"):
        quick_run(packnet, packnet.PackNet, tmp_path, *SLICE, "--prune-fraction", "0")
    result = subprocess.run([sys.executable, "baselines/packnet.py", *QUICK, *SLICE, "--prune-fraction", "0", "--out",
                             str(tmp_path / "cli")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and "no free weight left" in result.stderr


@pytest.mark.parametrize("argv,message", [
    (["--scenario", "domain"], "packnet.py is defined by scenario task"),
    (["--model", "vae", "--benchmark", "classes"], "packnet.py is defined for --model mlp or cnn"),
    (["--prune-fraction", "1"], "--prune-fraction must be share or a number in [0, 1) (got 1)"),
])
def test_what_packnet_cannot_do_is_one_line(argv, message, tmp_path):
    result = subprocess.run([sys.executable, "baselines/packnet.py", *QUICK, *SLICE, *argv, "--out", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0 and message in result.stderr and result.stderr.strip().count("\n") == 0


def test_an_interrupted_run_resumes_to_the_same_matrix_and_capacity(tmp_path):
    whole = quick_run(packnet, packnet.PackNet, tmp_path / "whole", *SLICE)
    assert cut_and_resumed(packnet, packnet.PackNet, tmp_path / "cut", *SLICE, at_task=2)["accuracy"] == whole
    summaries = [json.loads((tmp_path / name / "summary.json").read_text()) for name in ("whole", "cut")]
    assert summaries[0]["free_capacity"] == summaries[1]["free_capacity"] and len(summaries[1]["free_capacity"]) == 3


def test_free_capacity_of_packnet_and_of_anpyc_by_hand(tmp_path):
    from common import figures

    packnet_run = {"summary": {"free_capacity": [0.5, 0.2, 0.0]}, "config": {"model": "mlp", "hidden": [4, 2]}}
    anpyc_run = {"config": {"model": "mlp", "hidden": [4, 2]}, "summary": {"sparsity": [
        {"dense_0/kernel": 0.5, "dense_0/bias": 0.5, "dense_1/kernel": 0.25, "dense_1/bias": 0.0},
        {"dense_0/kernel": 0.0, "dense_0/bias": 0.0, "dense_1/kernel": 0.0, "dense_1/bias": 0.0}]}}
    assert figures.free_capacity(packnet_run) == [0.5, 0.2, 0.0]
    # kernels of 784 x 4 = 3136 and 4 x 2 = 8 weights: (0.5 * 3136 + 0.25 * 8) / 3144
    assert figures.free_capacity(anpyc_run) == pytest.approx([(1568 + 2) / 3144, 0.0])
    assert figures.free_capacity({"summary": {}, "config": {"model": "mlp"}}) is None
    figures.plot_free_capacity({"packnet": [packnet_run], "anpyc_wi_np": [anpyc_run]}, tmp_path / "free.png")
    assert (tmp_path / "free.png").stat().st_size > 0
