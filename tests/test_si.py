"""SI's path integral on a quadratic problem, against the sum computed by hand."""
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

from baselines.si import SI

A = np.array([1.0, 4.0, 0.5])
CENTRES = [np.array([1.0, -1.0, 2.0]), np.array([-1.0, 0.5, 0.0])]
LR, STEPS, C, XI = 0.1, 25, 0.3, 0.1


@pytest.mark.parametrize("penalty_step", ["explicit", "implicit"])
def test_si_path_integral_matches_hand_computation(penalty_step):
    theta = tf.Variable([0.0, 0.0, 0.0], dtype=tf.float64)
    si = SI(SimpleNamespace(c=C, xi=XI, optimizer="sgd", penalty_step=penalty_step))
    trainer = SimpleNamespace(model=SimpleNamespace(shared_variables=[theta]))
    si.setup(trainer)
    optimizer = keras.optimizers.SGD(LR)
    expected_omega, t, anchor = np.zeros(3), np.zeros(3), None
    for task, centre in enumerate(CENTRES):
        si.before_task(trainer, task)
        si.before_epoch(trainer, task, LR)
        path, start = np.zeros(3), t.copy()
        for _ in range(STEPS):
            with tf.GradientTape(persistent=True) as tape:
                task_loss = 0.5 * tf.reduce_sum(A * tf.square(theta - centre))
                penalty = si.penalty(None, task, None)
            task_grads = tape.gradient(task_loss, [theta])
            penalty_grad = tape.gradient(penalty, [theta])[0]
            grads = [task_grads[0] + (0 if penalty_grad is None else penalty_grad)]
            si.apply_step(optimizer, grads, [theta], task_grads)
            # By hand: the step uses task + penalty gradients (or the penalty's proximal step), the path
            # only the task's gradient.
            g_task = A * (t - centre)
            if task == 0:
                step = -LR * g_task
            elif penalty_step == "explicit":
                step = -LR * (g_task + 2 * C * expected_omega * (t - anchor))
            else:
                cw = 2 * LR * C * expected_omega
                step = (t - LR * g_task + cw * anchor) / (1 + cw) - t
            path += -g_task * step
            t = t + step
        np.testing.assert_allclose(si.path[0].numpy(), path, rtol=1e-6)
        si.after_task(trainer, task)
        expected_omega = expected_omega + path / ((t - start) ** 2 + XI)
        anchor = t.copy()
        np.testing.assert_allclose(si.consolidation.omega[0].numpy(), expected_omega, rtol=1e-6)
    np.testing.assert_allclose(theta.numpy(), t, rtol=1e-6)


def test_si_clips_the_summed_importance_at_zero_as_zenke_et_als_code():
    # pathint's protocols.py: Omega <- relu(Omega + path / (Delta^2 + xi)). A negative path integral
    # lowers an earlier importance, but never below zero.
    theta = tf.Variable([0.0, 0.0, 0.0], dtype=tf.float64)
    si = SI(SimpleNamespace(c=C, xi=XI, optimizer="sgd", penalty_step="implicit"))
    trainer = SimpleNamespace(model=SimpleNamespace(shared_variables=[theta]))
    si.setup(trainer)
    si.consolidation.omega[0].assign([2.0, 2.0, 2.0])
    si.before_task(trainer, 1)
    theta.assign([1.0, 1.0, 0.0])  # Delta^2 = 1, 1, 0
    si.path[0].assign([-1.1, -3.3, 0.5])  # / (Delta^2 + 0.1): -1, -3, 5
    si.after_task(trainer, 1)
    np.testing.assert_allclose(si.consolidation.omega[0].numpy(), [1.0, 0.0, 7.0], rtol=1e-6)
