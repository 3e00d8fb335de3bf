"""Pruning masks: exact sparsity, nesting, protection of kept parameters, and zeros that stay zero."""
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import anpyc_wi_np
from common.pruning import Masks, prune_mask
from conftest import configure
from common.run import run


def test_mask_prunes_the_least_important_fraction_of_each_tensor():
    importance = np.random.default_rng(0).random((40, 30))
    everything = np.ones_like(importance, bool)
    keep = prune_mask(importance, everything, everything, 0.3)
    assert keep.sum() == 1200 - 360
    assert importance[~keep].max() < importance[keep].min()


def test_only_free_parameters_are_pruned_and_masks_nest():
    rng = np.random.default_rng(1)
    importance = rng.random(1000)
    free = rng.random(1000) < 0.5
    first = prune_mask(importance, free, np.ones(1000, bool), 0.2)
    assert (first[~free]).all()  # what earlier tasks kept is never pruned
    assert (~first).sum() == int(0.2 * free.sum())
    second = prune_mask(rng.random(1000), free, first, 0.4)  # new importances, larger fraction
    assert (~second).sum() == int(0.4 * free.sum())
    assert (~second[~first]).all()  # already pruned stays pruned


def test_ties_do_not_change_the_sparsity():
    importance = np.zeros(100)
    everything = np.ones(100, bool)
    assert (~prune_mask(importance, everything, everything, 0.37)).sum() == 37


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_pruned_weights_stay_zero_while_retraining(optimizer):
    keras.utils.set_random_seed(0)
    kernel = tf.Variable(tf.random.normal([20, 10]))
    head = tf.Variable(tf.random.normal([10, 3]))
    masks = Masks([kernel])
    opt = keras.optimizers.get(optimizer)
    opt.build([kernel, head])
    opt.apply([tf.ones_like(kernel), tf.ones_like(head)], [kernel, head])  # momentum before pruning
    keep = prune_mask(np.abs(kernel.numpy()), np.ones((20, 10), bool), np.ones((20, 10), bool), 0.5)
    masks.set([keep])
    for _ in range(5):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.random.normal([4, 20]) @ kernel @ head - 1.0))
        masks.apply(opt, tape.gradient(loss, [kernel, head]), [kernel, head])
    assert (kernel.numpy()[~keep] == 0).all()
    assert (kernel.numpy()[keep] != 0).all()
    assert masks.sparsity() == [pytest.approx(0.5)]


def test_pruning_script_follows_the_prune_schedule(tmp_path):
    config = configure(anpyc_wi_np, "--hidden", "64,32", "--epochs", "2", "--retrain-epochs", "1", out=tmp_path)
    run(anpyc_wi_np.PrunedANPyC, config, log=lambda *_: None)
    sparsity = json.loads((tmp_path / "summary.json").read_text())["sparsity"]
    # p = 50 on task 1: half of everything; p = 40 on task 2: 40% of the free half; the last task keeps all.
    for expected, row in zip([0.5, 0.2, 0.0], sparsity):
        assert row["dense_0/kernel"] == pytest.approx(expected, abs=1e-4)
        assert row["dense_1/kernel"] == pytest.approx(expected, abs=1e-3)
