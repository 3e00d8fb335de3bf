"""The GAN: the Fréchet distance against its closed form, the generator's ANPyC importance against a
hand computation, and a 2-task run that resumes to the same numbers."""
import json

import numpy as np
import pytest
import tensorflow as tf

import anpyc_gan
from baselines import finetuning, generative_replay
from common import data, gan, importance
from common.method import Method
from common.run import run
from conftest import configure, cut_and_resumed

SLICE = ["--tasks", "2", "--epochs", "2", "--train-subset", "300", "--hidden", "16,32", "--latent", "4",
         "--batch-size", "32"]


def test_frechet_distance_of_two_gaussians_in_closed_form():
    mu_a, mu_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    sd_a, sd_b = np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.0, 0.5])
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum((sd_a - sd_b) ** 2)  # diagonal: sum of (sigma_a - sigma_b)^2
    assert gan.frechet_distance(mu_a, np.diag(sd_a ** 2), mu_b, np.diag(sd_b ** 2)) == pytest.approx(expected)
    rotation = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))[0]  # the same in any basis
    rotated = gan.frechet_distance(rotation @ mu_a, rotation @ np.diag(sd_a ** 2) @ rotation.T,
                                   rotation @ mu_b, rotation @ np.diag(sd_b ** 2) @ rotation.T)
    assert rotated == pytest.approx(expected)
    singular = np.diag([1.0, 0.0, 0.0])  # a feature that never fires: no warning, no nan
    assert gan.frechet_distance(mu_a, singular, mu_a, singular) == pytest.approx(0.0, abs=1e-9)
    rng = np.random.default_rng(1)
    a, b = rng.normal(mu_a, sd_a, (200_000, 3)), rng.normal(mu_b, sd_b, (200_000, 3))
    assert gan.feature_distance(a, b) == pytest.approx(expected, rel=0.02)


def numpy_entropy(weights, z, digits):
    """The generator's pixel entropy by hand: ReLU trunk, then Bernoulli(sigmoid(logits))."""
    x = np.concatenate([z, np.eye(10)[digits]], axis=1)
    for i, (kernel, bias) in enumerate(weights):
        x = x @ kernel + bias
        x = np.maximum(x, 0) if i < len(weights) - 1 else x
    return np.sum(np.logaddexp(0, x) - x / (1 + np.exp(-x)))


def test_the_generator_importance_matches_a_hand_computation(monkeypatch):
    tasks = data.make_benchmark("classes", 2, 0, subset=50)
    network = gan.GAN([3], 2, tasks, "glorot", seed=0)
    z, digits = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32), np.array([1, 1, 1, 1, 1])
    monkeypatch.setattr(network, "draw", lambda n, task: (tf.constant(z), tf.constant(digits)))
    omega = importance.anpyc_batch(network, 1, tf.zeros([5, 784]))
    weights = [(layer.kernel.numpy().astype(np.float64), layer.bias.numpy().astype(np.float64))
               for layer in network.shared_layers]
    values = [array for pair in weights for array in pair]
    assert len(omega) == len(values) == len(network.shared_variables)
    rng = np.random.default_rng(2)
    for v, (theta, computed) in enumerate(zip(values, omega)):
        for index in [tuple(rng.integers(0, s) for s in theta.shape) for _ in range(3)]:
            step = 1e-4
            theta[index] += step
            up = numpy_entropy(weights, z, digits)
            theta[index] -= 2 * step
            down = numpy_entropy(weights, z, digits)
            theta[index] += step
            g = (up - down) / (2 * step)  # dI/dtheta by central differences
            expected = max(0.0, g * theta[index] + 0.5 * theta[index] ** 2 * g ** 2)
            assert float(computed.numpy()[index]) == pytest.approx(expected, rel=2e-3, abs=1e-6)


def test_a_two_task_run_resumes_to_the_same_numbers(tmp_path):
    argv = [*SLICE, "--retrain-epochs", "1", "--prune-percent", "20"]
    whole = run(anpyc_gan.PrunedANPyC, configure(anpyc_gan, *argv, out=tmp_path / "whole"), log=lambda *_: None)
    resumed = cut_and_resumed(anpyc_gan, anpyc_gan.PrunedANPyC, tmp_path / "cut", *argv, at_task=1)
    assert resumed == whole  # the critic's weights and its optimiser came back too
    assert set(whole) == {"accuracy", "fid"}
    summary = json.loads((tmp_path / "cut" / "summary.json").read_text())
    assert summary["fid"]["final_avg"] > 0 and (tmp_path / "cut" / "samples.png").stat().st_size > 0


def test_generative_replay_keeps_the_first_digit_better_than_fine_tuning(tmp_path):
    argv = ["--tasks", "2", "--epochs", "3", "--train-subset", "2000", "--protocol", "gan"]
    ft = run(Method, configure(finetuning, *argv, out=tmp_path / "ft"), log=lambda *_: None)
    gr = run(generative_replay.GenerativeReplay, configure(generative_replay, *argv, out=tmp_path / "gr"),
             log=lambda *_: None)
    assert ft["accuracy"][0][0] > 90 and gr["accuracy"][0][0] > 90  # both learn the 0s ...
    assert gr["accuracy"][1][0] > ft["accuracy"][1][0] + 30  # ... and fine-tuning loses them


@pytest.mark.parametrize("replay_batch,expected", [("split", {1: 32, 2: 16}), ("full", {1: 32, 2: 32})])
def test_generative_replay_replays_a_share_of_one_batch_or_a_full_batch_per_earlier_task(tmp_path, monkeypatch,
                                                                                          replay_batch, expected):
    from common.gan import GAN

    sizes = {}
    replay = GAN.replay
    monkeypatch.setattr(GAN, "replay", lambda self, k, n, weights: sizes.setdefault((k, n), True) and replay(self, k, n, weights))
    argv = ["--tasks", "3", "--epochs", "1", "--train-subset", "100", "--hidden", "16,32", "--latent", "4",
            "--batch-size", "32", "--replay-batch", replay_batch]
    run(generative_replay.GenerativeReplay, configure(generative_replay, *argv, out=tmp_path), log=lambda *_: None)
    # task 2 (from 0) replays tasks 0 and 1: 16 images of each from a split batch of 32, or 32 of each
    assert {n for k, n in sizes if k == 0} == set(expected.values()) and {n for k, n in sizes if k == 1} == {expected[2]}
