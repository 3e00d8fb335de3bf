"""--precision bfloat16: the trunk computes in bfloat16, and what the issue keeps in float32 stays there
(variables, the optimiser's state, importances, the heads' logits and the loss); the policy does not leak
into anything built after; and a run on real MNIST learns as float32 does."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import anpyc_wo_np
from baselines import finetuning
from common import importance, models
from common.method import Method
from conftest import quick_run


def network(precision, model="mlp"):
    keras.utils.set_random_seed(0)  # the same float32 weights in both precisions
    return models.build(model, [64, 32], 2, 10, dropout=0.5, shape=(28, 28, 1), precision=precision)


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_bfloat16_computes_the_trunk_in_bfloat16_and_keeps_the_rest_float32(model):
    net = network("bfloat16", model)
    x = tf.random.stateless_uniform([8, 784], [0, 1])
    assert net.features(x, training=True).dtype == tf.bfloat16
    assert net.forward(x, 1).dtype == tf.float32  # the heads compute in float32
    assert {v.dtype for v in net.trainable_variables} == {"float32"}
    loss, _ = net.task_loss(x, tf.zeros([8], tf.int32), 0, training=True)
    assert loss.dtype == tf.float32
    assert keras.config.dtype_policy().name == "float32"  # restored: nothing built later inherits it
    assert network("float32", model).features(x).dtype == tf.float32


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_importances_of_a_bfloat16_network_are_float32_and_near_float32s(model):
    """Same weights, so the importances differ by bfloat16's rounding of the forward and backward passes
    only (8 bits of mantissa: a relative error of about 0.4% a rounding)."""
    x = tf.random.stateless_uniform([32, 784], [0, 2])
    measures = {"anpyc": importance.anpyc_batch, "mas": importance.mas_batch,
                "mas_softmax": importance.mas_softmax_batch}
    got = {precision: {name: fn(network(precision, model), 1, x) for name, fn in measures.items()}
           for precision in ("float32", "bfloat16")}
    for precision in got:  # the Fisher's label is drawn from the prediction: same seed, same weights
        got[precision]["fisher"] = importance.fisher_batch(network(precision, model), 1, x, keras.random.SeedGenerator(1))
    for name in got["float32"]:
        for exact, rounded in zip(got["float32"][name], got["bfloat16"][name]):
            assert rounded.dtype == tf.float32
            total = float(tf.reduce_sum(tf.abs(exact)))
            assert float(tf.reduce_sum(tf.abs(exact - rounded))) <= 0.1 * total + 1e-6, name


@pytest.fixture(scope="module")
def accuracies(tmp_path_factory):
    """Split MNIST's five tasks (one head each) on 1,000 images a task, 2 epochs, in both precisions."""
    argv = ["--benchmark", "split", "--tasks", "5", "--train-subset", "1000", "--epochs", "2", "--hidden", "64,32",
            "--optimizer", "adam", "--lr", "0.001"]
    return {precision: quick_run(finetuning, Method, tmp_path_factory.mktemp(precision), *argv, "--precision", precision)
            for precision in ("float32", "bfloat16")}


def test_a_bfloat16_run_learns_as_a_float32_run_does(accuracies):
    learned = {p: np.array([row[i] for i, row in enumerate(matrix)]) for p, matrix in accuracies.items()}  # when learned
    assert learned["bfloat16"].min() > 90  # chance is 50
    assert np.abs(learned["bfloat16"] - learned["float32"]).max() < 3
    assert accuracies["bfloat16"] != accuracies["float32"]  # it did compute otherwise


def test_anpyc_learns_in_bfloat16_as_in_float32(tmp_path):
    """Its importance, penalty and implicit step run on the float32 variables of a bfloat16 trunk."""
    argv = ["--benchmark", "split", "--tasks", "2", "--train-subset", "500", "--epochs", "1", "--hidden", "32,16"]
    matrices = {p: quick_run(anpyc_wo_np, anpyc_wo_np.ANPyC, tmp_path / p, *argv, "--precision", p)
                for p in ("float32", "bfloat16")}
    final = {p: np.mean(matrix[-1]) for p, matrix in matrices.items()}
    assert final["bfloat16"] > 80 and abs(final["bfloat16"] - final["float32"]) < 3, final
