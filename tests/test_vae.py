"""The VAE of anpyc_vae.py: its importance, EWC's Fisher and the negative ELBO against hand
computations on a tiny VAE, and short task sequences on real MNIST digits."""
import json
import subprocess
import sys
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

import anpyc_vae
from baselines import finetuning
from common import data, importance
from common.data import Split, Task
from common.method import Method
from common.vae import VAE, sample_judge
from common import cli
from common.run import run
from conftest import ROOT

TASK = Task("digit-0", Split(np.zeros((1, 4), np.uint8), np.zeros(1, np.int32)), None, None, classes=1, digits=(0,))


def tiny_vae(heads=2):
    """4 pixels, encoder 4-3, latent 2, decoder 2-3-4."""
    keras.utils.set_random_seed(2)
    return VAE([3], 2, [TASK] * heads, heads, "glorot", seed=0, inputs=4)


def forward_numpy(params, x):
    """Pixel logits with z = mu, in float64: [enc kernel, enc bias, dec kernel, dec bias, head enc kernel,
    head enc bias, head dec kernel, head dec bias]."""
    w1, b1, w2, b2, e, eb, d, db = params
    mu = (np.maximum(x @ w1 + b1, 0) @ e + eb)[:, :2]
    return np.maximum(mu @ w2 + b2, 0) @ d + db


def entropy_numpy(params, x):
    p = 1 / (1 + np.exp(-forward_numpy(params, x)))
    return -np.sum(p * np.log(p) + (1 - p) * np.log(1 - p))


def numeric_gradient(f, params, i):
    grad = np.zeros_like(params[i])
    for index in np.ndindex(grad.shape):
        plus, minus = [p.copy() for p in params], [p.copy() for p in params]
        plus[i][index] += 1e-6
        minus[i][index] -= 1e-6
        grad[index] = (f(plus) - f(minus)) / 2e-6
    return grad


def test_vae_importance_is_anpycs_formula_on_the_decoders_pixel_entropy():
    model = tiny_vae()
    x = np.random.default_rng(0).uniform(size=(5, 4)).astype(np.float32)
    task = 1  # the second task's heads
    head = model.heads[task]
    params = [v.numpy().astype(np.float64) for v in model.trunk_variables + head.encoder.trainable_variables
              + head.decoder.trainable_variables]
    assert float(model.entropy(x, task)) == pytest.approx(entropy_numpy(params, x.astype(np.float64)), rel=1e-5)
    measured = importance.anpyc_batch(model, task, x)
    assert len(measured) == 4  # the two trunks; heads are the task's own
    for i in range(4):
        g = numeric_gradient(lambda p: entropy_numpy(p, x.astype(np.float64)), params, i)
        expected = np.maximum(0, g * params[i] + 0.5 * params[i] ** 2 * g ** 2)
        np.testing.assert_allclose(measured[i].numpy(), expected, rtol=1e-3, atol=1e-5)


def test_vae_fisher_is_the_mean_squared_per_image_gradient_of_log_p_x_given_z():
    model = tiny_vae(heads=1)  # one shared pair of heads: the heads are consolidated too
    x = np.random.default_rng(1).uniform(size=(3, 4)).astype(np.float32)
    measured = importance.fisher_batch(model, 0, x, seed=None)
    assert len(measured) == len(model.shared_variables) == 8
    expected = [np.zeros(v.shape) for v in model.shared_variables]
    for n in range(3):
        with tf.GradientTape() as tape:
            logits = model.forward(x[n:n + 1], 0)
            log_p = tf.reduce_sum(x[n] * tf.math.log_sigmoid(logits) + (1 - x[n]) * tf.math.log_sigmoid(-logits))
        for e, g in zip(expected, tape.gradient(log_p, model.shared_variables)):
            e += g.numpy() ** 2
    for m, e in zip(measured, expected):
        np.testing.assert_allclose(m.numpy(), e, rtol=1e-4, atol=1e-9)


def test_negative_elbo_by_hand():
    model = tiny_vae()
    x = np.random.default_rng(2).uniform(size=(2, 4)).astype(np.float32)
    noise = np.random.default_rng(3).normal(size=(2, 2)).astype(np.float32)
    head = model.heads[0]
    w1, b1, w2, b2 = [v.numpy().astype(np.float64) for v in model.trunk_variables]
    e, eb = [v.numpy().astype(np.float64) for v in head.encoder.trainable_variables]
    d, db = [v.numpy().astype(np.float64) for v in head.decoder.trainable_variables]
    out = np.maximum(x @ w1 + b1, 0) @ e + eb
    mu, log_var = out[:, :2], out[:, 2:]
    z = mu + np.exp(0.5 * log_var) * noise
    p = 1 / (1 + np.exp(-(np.maximum(z @ w2 + b2, 0) @ d + db)))
    reconstruction = -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=1)
    kl = 0.5 * np.sum(np.exp(log_var) + mu ** 2 - 1 - log_var, axis=1)
    np.testing.assert_allclose(model.negative_elbo(x, 0, noise).numpy(), reconstruction + kl, rtol=1e-5)


def test_the_sample_judge_reads_real_mnist():
    judge = sample_judge()
    _, test = data.load("mnist")
    predicted = np.argmax(judge(test.images[:2000].astype(np.float32) / 255.0), axis=1)
    assert np.mean(predicted == test.labels[:2000]) > 0.95
    assert judge.test_accuracy > 95  # over all 10,000 test images, as summary.json reports it


VAE_QUICK = ["--tasks", "2", "--epochs", "3", "--train-subset", "1000", "--hidden", "200,200", "--latent", "8"]


def vae_run(script, method_cls, folder, *argv):
    """A quick run of `script`'s method on the VAE; its result matrices."""
    config = cli.parse(script.HPARAMS, getattr(script, "FLAGS", {}), "", [*argv, *VAE_QUICK, "--out", str(folder)])
    return run(method_cls, config, log=lambda *_: None)


@pytest.fixture(scope="module")
def vae_finetuning(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vae_finetuning")
    return folder, vae_run(finetuning, Method, folder, "--protocol", "vae")


def test_a_two_task_vae_sequence_learns_and_writes_its_results(vae_finetuning):
    folder, matrices = vae_finetuning
    nll = matrices["nll"]
    assert nll[0][0] < 250  # an untrained VAE scores about 545 nats on MNIST
    assert nll[1][0] > nll[0][0]  # fine-tuning on digit 1 makes digit 0 worse
    assert min(matrices["accuracy"][0]) > 50  # samples of digit 0 look like a 0 to the judge
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["nll"]["forgetting"] == pytest.approx(nll[1][0] - nll[0][0], abs=1e-3)
    assert summary["judge_test_accuracy"] == sample_judge().test_accuracy
    assert {"samples.png", "nll.csv", "accuracy.csv", "checkpoint.npz"} <= {p.name for p in folder.iterdir()}


def test_anpyc_on_the_vae_forgets_less_than_finetuning(vae_finetuning, tmp_path):
    _, tuned = vae_finetuning
    matrices = vae_run(anpyc_vae, anpyc_vae.PrunedANPyC, tmp_path, "--lamb", "10", "--retrain-epochs", "1")
    increase = lambda m: m["nll"][1][0] - m["nll"][0][0]
    assert increase(matrices) < 0.5 * increase(tuned)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["sparsity"][0]["encoder_0/kernel"] == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("argv, message", [
    (["--benchmark", "classes", "--model", "mlp"], "--benchmark classes (one digit per task) is for --model vae"),
    (["--model", "vae", "--benchmark", "permuted"], "--model vae needs --benchmark classes or split"),
])
def test_vae_flag_mistakes_are_one_line(argv, message):
    result = subprocess.run([sys.executable, "baselines/finetuning.py", *argv], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_lwf_on_the_vae_is_refused_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, "baselines/lwf.py", "--protocol", "vae", "--out", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and "lwf.py is defined for --model mlp or cnn" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


class StopBeforeTask2(Method):
    def before_task(self, trainer, task):
        if task == 1:
            raise KeyboardInterrupt


def test_an_interrupted_vae_run_resumes_to_the_same_results(vae_finetuning, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        vae_run(finetuning, StopBeforeTask2, tmp_path, "--protocol", "vae")
    config = cli.parse(finetuning.HPARAMS, {}, "", ["--resume", str(tmp_path)])
    resumed = run(Method, config, log=lambda *_: None)
    folder, uninterrupted = vae_finetuning
    assert resumed == uninterrupted  # test NLL and sample accuracy, to the last digit
    assert (tmp_path / "samples.png").read_bytes() == (folder / "samples.png").read_bytes()
