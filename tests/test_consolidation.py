"""The penalty's step (implicit and explicit) on quadratics, the explicit step's refusal, the authors'
initialisation, the pruning script's lr schedule, MAS's authors' variant and LwF's frozen old heads."""
import subprocess
import sys
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

import anpyc_wi_np
from baselines import lwf, mas
from common import importance
from common.consolidation import ConsolidationMethod
from common.models import Network, mlp
from conftest import QUICK, ROOT, configure
from common.run import run

LR, STRENGTH = 0.1, 2.0
OMEGA = np.array([0.1, 1.0, 12.0])  # c * Omega = 2 * LR * STRENGTH * Omega = 0.04, 0.4, 4.8
ANCHOR = np.array([1.0, -2.0, 0.5])


def penalty_only(step: str, steps: int, start=(3.0, 3.0, 3.0)) -> np.ndarray:
    """`steps` SGD steps on the penalty alone (a zero task loss), through the method's hooks."""
    theta = tf.Variable(start, dtype=tf.float64)
    method = ConsolidationMethod(SimpleNamespace(optimizer="sgd", penalty_step=step), strength=STRENGTH)
    trainer = SimpleNamespace(model=SimpleNamespace(shared_variables=[theta]))
    method.setup(trainer)
    method.consolidation.omega[0].assign(OMEGA)
    method.consolidation.anchor[0].assign(ANCHOR)
    method.before_task(trainer, 1)
    if step == "implicit":  # readies the proximal step; for explicit it would refuse c Omega >= 2, run here on purpose
        method.before_epoch(trainer, 1, LR)
    optimizer = keras.optimizers.SGD(LR)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.cast(method.penalty(None, 1, None), tf.float64) + 0.0 * tf.reduce_sum(theta)
        method.apply_step(optimizer, tape.gradient(loss, [theta]), [theta], None)
    return theta.numpy()


def test_implicit_step_is_the_closed_form_on_a_quadratic():
    c = 2 * LR * STRENGTH
    for steps in (1, 5):
        expected = ANCHOR + (3.0 - ANCHOR) / (1 + c * OMEGA) ** steps
        np.testing.assert_allclose(penalty_only("implicit", steps), expected, rtol=1e-6)


def test_explicit_step_is_plain_gradient_descent():
    c = 2 * LR * STRENGTH
    np.testing.assert_allclose(penalty_only("explicit", 3), ANCHOR + (3.0 - ANCHOR) * (1 - c * OMEGA) ** 3, rtol=1e-6)


def test_the_two_steps_agree_when_c_omega_is_small():
    implicit, explicit = penalty_only("implicit", 1), penalty_only("explicit", 1)
    move = np.abs(3.0 - ANCHOR) * 2 * LR * STRENGTH * OMEGA  # the first-order step
    assert abs(implicit[0] - explicit[0]) < 0.05 * move[0]  # c Omega = 0.04: second order only


def test_explicit_diverges_and_implicit_converges_when_c_omega_exceeds_2():
    distance = {step: np.abs(penalty_only(step, 20) - ANCHOR)[2] for step in ("implicit", "explicit")}
    assert distance["explicit"] > 1e6 * 2.5  # (1 - 4.8)^20 times the start's distance
    assert distance["implicit"] < 1e-10


def test_explicit_step_that_would_diverge_is_refused_in_one_line(tmp_path):
    argv = [*QUICK, "--tasks", "2", "--epochs", "1", "--retrain-epochs", "0", "--lr", "1", "--lamb", "1e6",
            "--penalty-step", "explicit", "--out", str(tmp_path)]
    result = subprocess.run([sys.executable, "anpyc_wi_np.py", *argv], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert "explicit penalty step diverges in task 2" in result.stderr and "--penalty-step implicit" in result.stderr


def test_pruning_script_follows_the_authors_lr_schedule(tmp_path):
    lines = []
    config = configure(anpyc_wi_np, "--tasks", "2", "--epochs", "10", "--retrain-epochs", "5", "--prune-percent", "20",
                       "--train-subset", "300", "--hidden", "64,32", out=tmp_path)
    run(anpyc_wi_np.PrunedANPyC, config, log=lines.append)
    rates = [float(line.split(" lr ")[1].split()[0]) for line in lines if " lr " in line]
    expected = [0.02] * 5 + [0.0198] * 5 + [0.0162] * 5 + [0.01458] * 5 + [0.02] * 5 + [0.018] * 5
    np.testing.assert_allclose(rates, expected, rtol=1e-3)


def test_authors_initialisation():
    keras.utils.set_random_seed(0)
    model = Network(mlp([300], "authors"), heads=2, classes=10, dropout=0.0, inputs=784, init="authors")
    for layer in [*model.trunk, *model.heads]:
        assert np.all(layer.bias.numpy() == np.float32(0.1))
        kernel = layer.kernel.numpy()
        assert np.abs(kernel).max() <= 0.2  # truncated at 2 sigma
    # a normal truncated at 2 sigma has sd 0.0880 sigma; 784 x 300 draws
    assert np.std(model.trunk[0].kernel.numpy()) == pytest.approx(0.0880, rel=0.01)


def test_mas_authors_variant_matches_hand_computation():
    keras.utils.set_random_seed(1)
    model = Network(mlp([5]), 1, 3, dropout=0.0, inputs=4, init="glorot")
    x = tf.random.uniform([6, 4])
    got = importance.mas_softmax_batch(model, 0, x)
    w1, b1, w2, b2 = [v.numpy().astype(np.float64) for v in model.shared_variables]

    def half_squared_softmax(w2_):
        logits = np.maximum(x.numpy() @ w1 + b1, 0) @ w2_ + b2
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        return 0.5 * np.sum(p**2)

    numeric = np.zeros_like(w2)
    for index in np.ndindex(w2.shape):
        step = np.zeros_like(w2)
        step[index] = 1e-6
        numeric[index] = (half_squared_softmax(w2 + step) - half_squared_softmax(w2 - step)) / 2e-6
    np.testing.assert_allclose(got[2].numpy(), np.abs(numeric), rtol=1e-3, atol=1e-7)
    config = configure(mas, out="unused")
    assert (config.variant, mas.MAS(config).strength) == ("authors", config.lamb / 2)


@pytest.mark.parametrize("old_heads", ["frozen", "trained"])
def test_lwf_old_heads(old_heads, tmp_path):
    heads = []

    class Recording(lwf.LwF):
        def after_task(self, trainer, task):
            heads.append(trainer.model.heads[0].kernel.numpy().copy())

    config = configure(lwf, "--tasks", "2", "--epochs", "1", "--train-subset", "300", "--old-heads", old_heads, out=tmp_path)
    run(Recording, config, log=lambda *_: None)
    assert np.array_equal(heads[0], heads[1]) == (old_heads == "frozen")


def test_a_negative_or_nan_importance_is_refused():
    from common.training import RunError

    class Broken(ConsolidationMethod):
        def task_importance(self, trainer, task):
            return [tf.constant([1.0, -0.5, 2.0], tf.float64) if task == 0 else tf.constant([1.0, float("nan"), 0.0], tf.float64)]

    theta = tf.Variable([0.0, 0.0, 0.0], dtype=tf.float64)
    trainer = SimpleNamespace(model=SimpleNamespace(shared_variables=[theta]))
    for task, entries in ((0, "1 entries of Omega negative"), (1, "1 entries of Omega negative or non-finite")):
        method = Broken(SimpleNamespace(optimizer="sgd", penalty_step="implicit"), strength=1.0)
        method.setup(trainer)
        with pytest.raises(RunError, match=f"the importance after task {task + 1} leaves {entries}"):
            method.after_task(trainer, task)
        np.testing.assert_array_equal(method.consolidation.omega[0].numpy(), 0.0)  # nothing assigned


@pytest.mark.parametrize("gamma", [1.0, 0.5])
def test_kirkpatrick_ewc_is_one_penalty_per_task_around_its_own_weights(gamma):
    from baselines import ewc

    fishers = [np.array([1.0, 0.0, 2.0, 0.0]), np.array([3.0, 1.0, 0.0, 0.0]), np.array([0.5, 2.0, 1.0, 0.0])]
    weights = [np.array([1.0, -1.0, 0.5, 2.0]), np.array([-2.0, 0.0, 1.5, 1.0]), np.array([0.0, 3.0, -1.0, 0.5])]
    theta = tf.Variable(np.zeros(4))
    trainer = SimpleNamespace(model=SimpleNamespace(shared_variables=[theta]))
    methods = {}
    for variant in ("kirkpatrick", "online"):
        config = SimpleNamespace(lamb=2.0, gamma=gamma, variant=variant, seed=0, optimizer="sgd", penalty_step="explicit")
        method = ewc.EWC(config)
        method.setup(trainer)
        method.task_importance = lambda trainer, task: [tf.constant(fishers[task])]
        for task, w in enumerate(weights):
            theta.assign(w)
            method.after_task(trainer, task)
        methods[variant] = method
    theta.assign([0.3, -0.7, 2.0, 1.0])
    t = theta.numpy()
    decayed = [gamma ** (2 - k) * f for k, f in enumerate(fishers)]
    # Kirkpatrick et al.: sum over tasks k of F_k (theta - theta*_k)^2, gradient 2 sum_k F_k (theta - theta*_k)
    with tf.GradientTape() as tape:
        penalty = methods["kirkpatrick"].consolidation.penalty()
    expected = 2 * sum(f * (t - w) for f, w in zip(decayed, weights))
    np.testing.assert_allclose(tape.gradient(penalty, theta).numpy(), expected, rtol=1e-10)
    # online: the decayed sum of the Fishers, around the last task's weights
    np.testing.assert_allclose(methods["online"].consolidation.anchor[0].numpy(), weights[-1])
    np.testing.assert_allclose(methods["online"].consolidation.omega[0].numpy(), sum(decayed))
