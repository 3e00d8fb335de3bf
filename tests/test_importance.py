"""Importance measures and the consolidation penalty against hand computations on tiny networks."""
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

from common import importance
from common.consolidation import Consolidation
from common.data import Split, Task
from common.method import Method
from common.models import Network, cnn, mlp, zenke
from common.training import Trainer


def tiny_mlp(heads=2, classes=3):
    keras.utils.set_random_seed(1)
    return Network(mlp([5]), heads, classes, dropout=0.0, inputs=4)


def entropy_numpy(params, x):
    """The batch's summed softmax entropy, in float64, for a 4-5-3 ReLU network."""
    w1, b1, w2, b2 = params
    logits = np.maximum(x @ w1 + b1, 0) @ w2 + b2
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    return -np.sum(p * np.log(p))


def test_anpyc_importance_matches_hand_computation():
    model = tiny_mlp()
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    task = 1  # the second head: the measure must use the task's own head
    params = [v.numpy().astype(np.float64) for v in model.trunk_variables + model.heads[task].trainable_variables]
    expected = []
    for i in range(2):  # trunk kernel and bias; heads get no importance
        grad = np.zeros_like(params[i])
        for index in np.ndindex(grad.shape):
            plus = [p.copy() for p in params]
            minus = [p.copy() for p in params]
            plus[i][index] += 1e-6
            minus[i][index] -= 1e-6
            grad[index] = (entropy_numpy(plus, x) - entropy_numpy(minus, x)) / 2e-6
        expected.append(np.maximum(0, grad * params[i] + 0.5 * params[i] ** 2 * grad**2))
    got = importance.anpyc_batch(model, task, tf.constant(x))
    assert len(got) == 2
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.numpy(), e, rtol=1e-3, atol=1e-6)
    assert any((e == 0).any() for e in expected) and all((e >= 0).all() for e in expected)


def per_sample_loop(model, task, x, loss_fn, reduce):
    totals = [tf.zeros_like(v) for v in model.shared_variables]
    for n in range(x.shape[0]):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(loss_fn(model.forward(x[n : n + 1], task)))
        grads = tape.gradient(loss, model.shared_variables)
        totals = [t + reduce(g) for t, g in zip(totals, grads)]
    return totals


@pytest.mark.parametrize("trunk,heads", [("mlp", 2), ("mlp", 1), ("cnn", 2), ("zenke", 2)])
@pytest.mark.parametrize("reduce", [tf.square, tf.abs])
def test_vectorised_per_sample_gradients_match_a_loop(trunk, heads, reduce):
    """Also through padded convolutions and the trunk's own dropout layers (Zenke et al.'s CNN, on small
    colour images; dropout is off outside training)."""
    keras.utils.set_random_seed(2)
    shape = (12, 12, 3) if trunk == "zenke" else (28, 28, 1)
    trunks = {"mlp": lambda: mlp([7, 6]), "cnn": lambda: cnn([6], shape), "zenke": lambda: zenke([6], shape)}
    model = Network(trunks[trunk](), heads, 3, dropout=0.0, inputs=int(np.prod(shape)))
    x = tf.random.uniform([5, int(np.prod(shape))])

    def first_label(logits):  # per-sample loops see one sample at a time
        return tf.nn.log_softmax(logits)[:, 0]

    for loss_fn in (first_label, lambda logits: tf.reduce_sum(tf.square(logits), 1)):
        got = importance._per_sample(model, 0, x, loss_fn, reduce)
        expected = per_sample_loop(model, 0, x, loss_fn, reduce)
        assert len(got) == len(model.shared_variables)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=2e-4, atol=1e-6)


def test_mas_and_fisher_match_a_loop():
    model = tiny_mlp(heads=1)  # a shared head is consolidated too
    x = tf.random.uniform([8, 4])
    mas = importance.mas_batch(model, 0, x)
    expected = per_sample_loop(model, 0, x, lambda logits: tf.reduce_sum(tf.square(logits), 1), tf.abs)
    for g, e in zip(mas, expected):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=2e-4)
    # With a very peaked softmax the sampled label is the predicted one, so the Fisher is checkable.
    model.heads[0].kernel.assign(model.heads[0].kernel * 1e4)
    predicted = tf.argmax(model.forward(x, 0), 1)
    fisher = importance.fisher_batch(model, 0, x, seed=keras.random.SeedGenerator(0))

    def log_p_predicted(logits):
        return tf.reduce_sum(tf.nn.log_softmax(logits) * tf.one_hot(tf.argmax(logits, 1), 3), 1)

    expected = per_sample_loop(model, 0, x, log_p_predicted, tf.square)
    for g, e in zip(fisher, expected):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-3, atol=1e-9)
    assert len(set(predicted.numpy())) > 1


def test_task_mean_averages_over_batches_of_100():
    model = tiny_mlp()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (250, 4), dtype=np.uint8)
    split = Split(images, np.zeros(250, np.int32))
    config = SimpleNamespace(optimizer="sgd", lr=0.1)
    trainer = Trainer(model, [Task("t", split, split, split, classes=3)], Method(config), config)
    got = trainer.task_mean(importance.anpyc_batch, 0, 100, per_sample=False)
    x = tf.constant(images, tf.float32) / 255.0
    batches = [importance.anpyc_batch(model, 0, x[i : i + 100]) for i in (0, 100, 200)]
    for k, g in enumerate(got):
        np.testing.assert_allclose(g.numpy(), np.mean([b[k].numpy() for b in batches], 0), rtol=1e-5)


def test_penalty_and_its_gradient():
    theta = tf.Variable([1.0, -2.0, 3.0])
    consolidation = Consolidation([theta])
    consolidation.consolidate([tf.constant([0.5, 2.0, 0.0])], task=0)  # Omega, and theta* = [1, -2, 3]
    theta.assign([2.0, 0.0, -1.0])
    with tf.GradientTape() as tape:
        penalty = consolidation.penalty()
    # sum Omega (theta - theta*)^2 = 0.5 * 1 + 2 * 4 + 0 * 16; gradient 2 Omega (theta - theta*)
    assert float(penalty) == pytest.approx(8.5)
    np.testing.assert_allclose(tape.gradient(penalty, theta).numpy(), [1.0, 8.0, 0.0])
    consolidation.consolidate([tf.constant([1.0, 1.0, 1.0])], task=1, rule="max")
    np.testing.assert_allclose(consolidation.omega[0].numpy(), [1.0, 2.0, 1.0])
    consolidation.consolidate([tf.constant([1.0, 1.0, 1.0])], task=2, rule="sum", decay=0.5)
    np.testing.assert_allclose(consolidation.omega[0].numpy(), [1.5, 2.0, 1.5])
    np.testing.assert_allclose(consolidation.anchor[0].numpy(), [2.0, 0.0, -1.0])
