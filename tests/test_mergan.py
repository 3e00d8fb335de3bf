"""Memory Replay GANs' protocol (common/mergan.py): their networks' sizes, conditional batch norm by hand,
five critic steps per generator step (replay or not), the optimisers' reset at each task, a short run
that learns each digit and forgets the first, as their fine-tuning (SFT) does, and MeRGAN-JTR keeping
it; ANPyC on their generator, its pruning sparing the per-digit batch norms; EWC's per-sample gradients
through the batch norms."""
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import anpyc_gan
from baselines import ewc, finetuning, mas, mergan_jtr
from common import cli, data, importance, mergan
from common.method import Method
from common.run import network, run
from common.training import Trainer


def config(*argv):
    return cli.parse(finetuning.HPARAMS, {}, "", list(argv))


def test_the_networks_have_the_sizes_of_their_code():
    # gan32_model.py, counted by hand. Generator: Linear 128 -> 2048, deconvolutions 128 -> 64 -> 32 -> 1
    # (5x5), a scale and a shift per digit for 128 + 64 + 32 channels. Critic: convolutions 1 -> 32 -> 64
    # -> 128 (5x5), Linear 2048 -> 1 and 2048 -> 10.
    generator = (128 * 2048 + 2048) + (25 * 128 * 64 + 64) + (25 * 64 * 32 + 32) + (25 * 32 + 1) + 2 * 10 * (128 + 64 + 32)
    critic = (25 * 32 + 32) + (25 * 32 * 64 + 64) + (25 * 64 * 128 + 128) + (2048 + 1) + (2048 * 10 + 10)
    assert (generator, critic) == (525_569, 279_563)
    tasks = data.make_benchmark("classes", 2, 0, subset=50)
    model = network(config("--protocol", "mergan", "--tasks", "2"), tasks)
    assert sum(int(tf.size(v)) for v in model.shared_variables) == generator
    assert sum(int(tf.size(v)) for v in model.critic_variables) == critic
    images = model.generate(tf.random.normal([3, 128]), tf.constant([0, 1, 2]))
    assert images.shape == (3, 32, 32, 1) and np.abs(images.numpy()).max() <= 1
    score, logits = model.discriminate(images)
    assert score.shape == (3,) and logits.shape == (3, 10)


def test_conditional_batch_norm_by_hand():
    layer = mergan.ConditionalBatchNorm()
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(6, 4)).astype(np.float32)
    digits = np.array([0, 3, 3, 0, 7, 3])
    layer.build(x.shape)
    scale, shift = np.random.default_rng(1).normal(size=(2, 10, 4)).astype(np.float32)
    layer.scale.assign(scale)
    layer.shift.assign(shift)
    normalised = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)  # the batch's own statistics, whatever the digits
    np.testing.assert_allclose(layer(tf.constant(x), tf.constant(digits)), scale[digits] * normalised + shift[digits],
                               rtol=1e-4, atol=1e-5)


def test_images_are_padded_to_32_pixels_in_minus_one_to_one():
    x = tf.random.stateless_uniform([2, 784], [0, 1])
    images = mergan.padded(x)
    assert images.shape == (2, 32, 32, 1)
    assert np.all(images.numpy()[:, :2] == -1) and np.all(images.numpy()[:, :, -2:] == -1)
    np.testing.assert_allclose(mergan.unpadded(images), x, atol=1e-6)


@pytest.mark.parametrize("state, steps, method", [("reset", (2, 10), Method),  # tests/test_flags.py: carry differs
                                                  ("reset", (2, 10), mergan_jtr.JointTrainingWithReplay)])
def test_five_critic_steps_per_generator_step_and_the_optimisers_restart_with_each_task(state, steps, method):
    cfg = config("--protocol", "mergan-mlp", "--tasks", "2", "--iters", "2", "--train-subset", "700",
                 "--optimizer-state", state)
    tasks = data.make_benchmark("classes", 2, 0, subset=700)
    keras.utils.set_random_seed(0)
    trainer = Trainer(network(cfg, tasks), tasks, method(cfg), cfg, log=lambda *_: None)
    trainer.learn(0)
    assert (int(trainer.optimizer.iterations), int(trainer.model.critic_optimizer.iterations)) == (2, 10)
    trainer.learn(1)
    assert (int(trainer.optimizer.iterations), int(trainer.model.critic_optimizer.iterations)) == steps


def test_the_frozen_copy_generates_with_its_own_weights():
    tasks = data.make_benchmark("classes", 2, 0, subset=50)
    model = network(config("--protocol", "mergan-mlp", "--tasks", "2"), tasks)
    z, digits = tf.random.stateless_normal([4, 128], [0, 2]), tf.constant([0, 1, 1, 0])
    copy = [tf.Variable(v) for v in model.shared_variables]
    np.testing.assert_array_equal(model.generate_with(copy, z, digits), model.generate(z, digits))
    copy[0].assign(copy[0] * 2)
    assert not np.allclose(model.generate_with(copy, z, digits), model.generate(z, digits))
    np.testing.assert_array_equal(model.generate(z, digits), model.generate(z, digits))  # its own: untouched


def test_joint_training_with_replay_keeps_the_first_digit_that_fine_tuning_forgets(tmp_path, monkeypatch):
    monkeypatch.setattr(mergan, "JUDGED_BATCHES", 5)
    argv = ["--protocol", "mergan-mlp", "--tasks", "2", "--iters", "100", "--train-subset", "1000"]
    cfg = cli.parse(mergan_jtr.HPARAMS, {}, "", [*argv, "--out", str(tmp_path / "jtr")])
    replayed = run(mergan_jtr.JointTrainingWithReplay, cfg, log=lambda *_: None)["accuracy"]
    forgotten = run(Method, config(*argv, "--out", str(tmp_path / "sft")), log=lambda *_: None)["accuracy"]
    assert forgotten[0][0] > 90 and replayed[0][0] > 90  # digit 0, judged a 0 after its task (chance: 10)
    assert forgotten[1][0] < 40 and replayed[1][0] > forgotten[1][0] + 40  # fine-tuning forgets digit 0; JTR keeps it


def test_per_sample_gradients_through_the_batch_norms_are_the_jacobians_rows():
    # Each image's loss depends on the whole batch (the batch norms' statistics): its gradient, taken
    # one image at a time on the same batch, squared and summed, is what EWC's Fisher sums.
    tasks = data.make_benchmark("classes", 2, 0, subset=50)
    model = network(config("--protocol", "mergan-mlp", "--tasks", "2", "--hidden", "8,8"), tasks)
    z, digits = tf.random.stateless_normal([5, 128], [0, 3]), tf.fill([5], 1)
    model.forward = lambda x, task, training=False, trace=None: model.generate(z, digits)
    loss = lambda images: tf.reduce_sum(tf.square(images), axis=[1, 2, 3])  # one value per image
    expected = [np.zeros(v.shape) for v in model.shared_variables]
    for n in range(5):
        with tf.GradientTape() as tape:
            own = loss(model.forward(None, 1))[n]
        for total, g in zip(expected, tape.gradient(own, model.shared_variables)):
            total += np.square(tf.convert_to_tensor(g).numpy())  # the batch norms: IndexedSlices
    got = importance._per_sample(model, 1, tf.zeros([5, 784]), loss, tf.square)
    assert model.batch_coupled and len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-9)


def test_methods_that_read_class_outputs_refuse_it(capsys):
    with pytest.raises(SystemExit):
        cli.parse(mas.HPARAMS, mas.FLAGS, "", ["--protocol", "mergan"])
    assert "--model mergan: " in capsys.readouterr().err  # "mas.py is defined for --model mlp or cnn"
    assert cli.parse(ewc.HPARAMS, ewc.FLAGS, "", ["--protocol", "mergan"]).model == "mergan"  # Seff et al.'s EWC


def test_anpyc_takes_their_generator_and_prunes_all_but_its_per_digit_batch_norms(tmp_path, monkeypatch):
    monkeypatch.setattr(mergan, "JUDGED_BATCHES", 1)
    argv = ["--protocol", "mergan-mlp", "--tasks", "2", "--iters", "2", "--train-subset", "64", "--hidden", "8,8",
            "--retrain-epochs", "1", "--out", str(tmp_path)]
    cfg = cli.parse(anpyc_gan.HPARAMS, anpyc_gan.FLAGS, "", argv)
    assert (cfg.model, cfg.prune_percent) == ("mergan-mlp", 50)
    run(anpyc_gan.PrunedANPyC, cfg, log=lambda *_: None)
    first = json.loads((tmp_path / "summary.json").read_text())["sparsity"][0]  # after digit 0's pruning
    assert {name: share for name, share in first.items() if name.startswith("bn_")} == {
        f"bn_{i}/{v}": 0.0 for i in (0, 1) for v in ("scale", "shift")}
    assert {name: share for name, share in first.items() if name.startswith("generator_")} == {
        f"generator_{i}/{v}": 0.5 for i in (0, 1) for v in ("kernel", "bias")}  # 50% of each, exactly


def test_validation_judges_samples_of_other_codes(monkeypatch):
    monkeypatch.setattr(mergan, "JUDGED_BATCHES", 1)
    tasks = data.make_benchmark("classes", 2, 0, subset=50)
    model = network(config("--protocol", "mergan-mlp", "--tasks", "2", "--hidden", "8,8"), tasks)
    rows = model.evaluate(None, 2, validation=True)
    assert list(rows) == ["accuracy", "validation_accuracy"] and len(rows["validation_accuracy"]) == 2
    assert list(model.evaluate(None, 1, validation=False)) == ["accuracy"]
    judged, validated = model.judged_samples(0)[0], model.judged_samples(0, mergan.VALIDATION_STREAM)[0]
    assert not np.array_equal(judged, validated)
    np.testing.assert_array_equal(judged, model.judged_samples(0)[0])  # fixed codes


def test_each_task_is_judged_in_batches_that_mix_its_digits_as_its_training_did(monkeypatch):
    """The batch norms normalise by the batch: a digit's samples judged in batches of that digit alone
    (sequential tasks, mergan.py) or of all ten in turn (their joint training, joint.py's test)."""
    monkeypatch.setattr(mergan, "JUDGED_BATCHES", 2)
    one_digit = network(config("--protocol", "mergan-mlp", "--tasks", "2", "--hidden", "8,8"),
                        data.make_benchmark("classes", 2, 0, subset=50))
    np.testing.assert_array_equal(one_digit.judged_samples(1)[1], [1] * 128)
    joint = network(config("--protocol", "mergan-mlp", "--benchmark", "all", "--hidden", "8,8"),
                    data.make_benchmark("all", 1, 0, subset=50))
    images, digits = joint.judged_samples(0)
    np.testing.assert_array_equal(digits, list(range(10)) * 20)
    assert images.shape == (200, mergan.SIDE, mergan.SIDE, 1)
    assert 0 < joint.evaluate(None, 1, validation=False)["accuracy"][0] < 100  # the ten digits' shares, averaged
