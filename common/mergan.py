"""Memory Replay GANs' conditional GAN (Wu et al., NeurIPS 2018) as their released code builds it for
MNIST (WuChenshen/MeRGAN: network/gan32_model.py, mergan.py, tflib/), so that continual generation is
judged beside their Table 1. It has common/gan.py's interface: every method trains the generator.

Images: MNIST zero-padded to 32x32 (tflib/mnist.py:95-97), in [-1, 1] (mergan.py:141), so the padding
is background.
- Generator (gan32_model.py:116-138): z of 128 (line 118) -> Dense 2048 -> 4x4x128 -> conditional batch
  norm, ReLU -> 5x5 transposed convolutions of stride 2 to 64 and to 32 channels, each followed by
  conditional batch norm and ReLU -> one to a single channel, tanh. The digit enters only through the
  batch norms: a scale and a shift per class (tflib/ops/cond_batchnorm.py:11-20), around the batch's own
  statistics, in training and sampling alike.
- Critic (gan32_model.py:141-156): 5x5 convolutions of stride 2 to 32, 64 and 128 channels, leaky ReLU
  0.2, no normalisation -> 2,048 features -> the WGAN score, and a 10-way classifier of the digit
  (AC-GAN), not told the digit.
- `--model mergan-mlp` keeps everything but the convolutions, for CPUs: the generator's hidden layers are
  Dense (--hidden, each with conditional batch norm and ReLU), the critic's Dense 512 and 256 (a
  convolutional run's cost here: docs/speed.md, row (o)).
Weights start as tflib's do (Linear: Glorot uniform; convolutions: uniform with standard deviation
sqrt(4 / (fan_in + fan_out)), the strided side's fan divided by stride^2); biases at 0.

Losses (mergan.py:149-166; WGAN-GP, Gulrajani et al. 2017, with AC-GAN's classifier at weight 1):
- critic: D(fake) - D(real) + 10 (||grad D(x_hat)|| - 1)^2 + CE(classifier(real), digit);
- generator: -D(G(z, digit)) + CE(classifier(G(z, digit)), digit).
Each generator step follows 5 critic steps (CRITIC_ITERS, mergan.py:101), each on its own real images:
a training batch (the protocol's 320) is split in 5, and the generator step makes as many images as one
fifth (64). Both networks use Adam at 1e-4 with betas 0 and 0.9 (mergan.py:103-106, 329-338), and with
--optimizer-state reset (the protocol's) both start each task afresh (mergan.py:340-341).

What the methods see:
- entropy (ANPyC's importance): the entropy of the critic's classifier for generated images of the
  task's digits, summed over the batch: the classifier's entropy of ANPyC's paper, computed on what the
  generator makes, and free of labels as there;
- fisher_log_likelihood (EWC for GANs, Seff et al. 2017, who take the Fisher of the generator's
  parameters from the discriminator's output): log p(c | G(z, digit)) under the critic's classifier, c
  drawn from its prediction (the true Fisher, as our EWC's everywhere). The batch norms couple a batch's
  samples, so each sample's gradient is a row of the Jacobian (common/importance.py).
Their offline joint training (JT, joint.py: 40,000 generator steps on all ten digits at once, each
batch's digits drawn at random) is `baselines/finetuning.py --protocol mergan --benchmark all --iters
40000`: one task of every digit (common/data.py).
Judged after each task (accuracy.csv, Wu et al.'s metric, mergan.py:200-229): 6,400 samples of each
digit learned, drawn in single-digit batches of 64 (their joint training's 1,000 of each digit in
batches of 100 that mix the ten, joint.py's test), and the share that a classifier of real MNIST,
their judge's network (pretrain/mnist_test.py:31-47, an MLP 1024-1024-512-256-128-10 on the padded
images), takes for the digit they were conditioned on. Their judge's training is not released; ours
trains on the 60,000 training images, and summary.json gives its test accuracy. With --validation,
validation_accuracy.csv judges samples of other codes: what a sweep chooses a strength on.
"""
from functools import lru_cache

import keras
import numpy as np
import tensorflow as tf

from common import data, seeds
from common.errors import UserError
from common.gan import gradient_penalty
from common.models import TaskNetwork, cross_entropy, sampled_log_likelihood, softmax_entropy
from common.training import Adam, reset
from common.vae import GRID_SAMPLES, judged_accuracy, samples_png

MNIST = data.DATASETS["mnist"]  # their networks are MNIST's: grey 28x28 images of 10 digits ...
DIGITS, (HEIGHT, WIDTH, CHANNELS) = MNIST.classes, MNIST.shape
BORDER = 2  # ... padded to 32x32 (tflib/mnist.py:95-97)
SIDE = HEIGHT + 2 * BORDER
LATENT = 128  # gan32_model.py:118
CRITIC_STEPS = 5  # mergan.py:101
LEARNING_RATE, BETA_1, BETA_2 = 1e-4, 0.0, 0.9  # mergan.py:103-106, 329-338, both networks
SAMPLE_BATCH = 64  # the judge sees a one-digit task's samples in batches of 64 of its digit ...
JUDGED_BATCHES = 100  # ... 100 of them (mergan.py:216-224); a task of several digits, 100 batches ...
MIXED_REPEATS = 10  # ... that hold each of its digits 10 times in turn (joint.py's test: labels [0..9] * 10)
JUDGE_WIDTHS = (1024, 512, 256, 128)  # pretrain/mnist_test.py:31-47: 1024 -> these -> 10
JUDGE_EPOCHS = 5  # ours: their judge's training is not released
VALIDATION_STREAM = 1000  # the codes of the validation samples (the judged ones, which the grid shows, are stream 0)


def tflib_init(fan_in: float, fan_out: float) -> keras.initializers.Initializer:
    """tflib's He-style uniform initialisation: standard deviation sqrt(4 / (fan_in + fan_out))."""
    limit = np.sqrt(3.0) * np.sqrt(4.0 / (fan_in + fan_out))
    return keras.initializers.RandomUniform(-limit, limit)


def convolution(filters: int, channels: int, name: str):
    """tflib's Conv2D, 5x5, stride 2 (fan_out divided by the stride's 4)."""
    return keras.layers.Conv2D(filters, 5, 2, padding="same", name=name,
                               kernel_initializer=tflib_init(channels * 25, filters * 25 / 4))


def deconvolution(filters: int, channels: int, name: str):
    """tflib's Deconv2D, 5x5, stride 2 (fan_in divided by the stride's 4)."""
    return keras.layers.Conv2DTranspose(filters, 5, 2, padding="same", name=name,
                                        kernel_initializer=tflib_init(channels * 25 / 4, filters * 25))


class ConditionalBatchNorm(keras.layers.Layer):
    """Batch normalisation around the batch's own mean and variance (always: there are no running
    averages), with a scale (from 1) and a shift (from 0) per class (cond_batchnorm.py:11-20)."""

    def build(self, shape):
        self.scale = self.add_weight(shape=(DIGITS, shape[-1]), initializer="ones", name="scale")
        self.shift = self.add_weight(shape=(DIGITS, shape[-1]), initializer="zeros", name="shift")

    def call(self, x, digits):
        axes = list(range(len(x.shape) - 1))
        mean, variance = tf.nn.moments(x, axes, keepdims=True)
        shape = [-1] + [1] * (len(x.shape) - 2) + [x.shape[-1]]
        scale, shift = (tf.reshape(tf.gather(v, digits), shape) for v in (self.scale, self.shift))
        return tf.nn.batch_normalization(x, mean, variance, shift, scale, 1e-5)


def padded(x):
    """Flat 28x28 images in [0, 1] as the networks see them: 32x32x1 in [-1, 1], padded with -1."""
    images = tf.reshape(2.0 * x - 1.0, [-1, HEIGHT, WIDTH, CHANNELS])
    return tf.pad(images, [[0, 0], [BORDER, BORDER], [BORDER, BORDER], [0, 0]], constant_values=-1.0)


def unpadded(images):
    """Generated 32x32 images in [-1, 1] as flat 28x28 ones in [0, 1] (the border cut off)."""
    return tf.reshape((images[:, BORDER:-BORDER, BORDER:-BORDER, 0] + 1.0) / 2.0, [-1, MNIST.pixels])


class MeRGAN(TaskNetwork):
    def __init__(self, convolutional: bool, hidden: list[int], tasks: list, seed: int, reset_optimizers: bool,
                 data_dir=None):
        super().__init__(name="mergan")  # a fixed name: checkpoints key its own weights by it
        self.seed, self.data_dir, self.reset_optimizers = seed, data_dir, reset_optimizers
        self.digits = [task.digits for task in tasks]
        self.dataset = tasks[0].dataset
        glorot = dict(kernel_initializer="glorot_uniform")
        if convolutional:
            self.trunk = [keras.layers.Dense(2048, name="generator_input", **glorot), ConditionalBatchNorm(name="bn_1"),
                          deconvolution(64, 128, "generator_2"), ConditionalBatchNorm(name="bn_2"),
                          deconvolution(32, 64, "generator_3"), ConditionalBatchNorm(name="bn_3")]
            self.heads = [deconvolution(1, 32, "generator_output")]
            critic = [convolution(32, 1, "discriminator_1"), convolution(64, 32, "discriminator_2"),
                      convolution(128, 64, "discriminator_3")]
        else:
            self.trunk = [layer for i, w in enumerate(hidden) for layer in
                          (keras.layers.Dense(w, name=f"generator_{i}", **glorot), ConditionalBatchNorm(name=f"bn_{i}"))]
            self.heads = [keras.layers.Dense(SIDE * SIDE, name="generator_output", **glorot)]
            critic = [keras.layers.Dense(w, name=f"discriminator_{i}", **glorot) for i, w in enumerate((512, 256))]
        self.convolutional = convolutional
        self.critic = critic + [keras.layers.Dense(1, name="discriminator_output", **glorot),
                                keras.layers.Dense(DIGITS, name="discriminator_classifier", **glorot)]
        self.noise = seeds.generator(seed, "gan_noise")  # z while training (checkpointed)
        self.grid = self.add_weight(shape=(len(tasks), len(tasks), GRID_SAMPLES, MNIST.pixels),
                                    initializer="zeros", trainable=False, name="samples_grid")
        self.discriminate(self.generate(tf.zeros([2, LATENT]), tf.zeros([2], tf.int32)))
        self.critic_variables = [v for layer in self.critic for v in layer.trainable_variables]
        self.critic_optimizer = Adam(LEARNING_RATE, beta_1=BETA_1, beta_2=BETA_2, name="discriminator_optimizer")
        self.critic_optimizer.build(self.critic_variables)
        self.replayed = None  # MeRGAN-JTR's frozen copy of the generator's variables (baselines/mergan_jtr.py)

    def state_variables(self) -> list:
        return self.critic_optimizer.variables

    def start_task(self, task: int) -> None:
        if self.reset_optimizers:
            reset(self.critic_optimizer)

    def generate(self, z, digits):
        """Images G(z, digit), [n, 32, 32, 1] in [-1, 1]."""
        x = z
        for layer in self.trunk:
            if isinstance(layer, ConditionalBatchNorm):
                x = tf.nn.relu(layer(x, digits))
            else:
                x = layer(x)
                if self.convolutional and layer is self.trunk[0]:
                    x = tf.reshape(x, [-1, 4, 4, 128])
        return tf.reshape(tf.tanh(self.heads[0](x)), [-1, SIDE, SIDE, CHANNELS])

    def generate_with(self, weights, z, digits):
        """G(z, digit) with `weights` (one tensor per generator variable) in place of its own."""
        with keras.StatelessScope(state_mapping=list(zip(self.shared_variables, weights, strict=True))):
            return self.generate(z, digits)

    def replay(self, task: int, size, frozen: bool):
        """MeRGAN-JTR's replay while task `task` trains (mergan.py:285-319): for each digit of the tasks
        before it, (its images by the frozen copy or None, by the live generator, the digit), from codes
        that the two share; one batch of `size` split equally among the digits, each generated alone (its
        own batch statistics), as theirs. Nothing before the first task, or without a frozen copy."""
        if self.replayed is None or task == 0:
            return []
        earlier = [d for k in range(task) for d in self.digits[k]]
        each = tf.maximum(size // len(earlier), 1)
        pairs = []
        for digit in earlier:
            z, digits = keras.random.normal([each, LATENT], seed=self.noise), tf.fill([each], digit)
            old = tf.stop_gradient(self.generate_with(self.replayed, z, digits)) if frozen else None
            pairs.append((old, self.generate(z, digits), digits))
        return pairs

    def discriminate(self, images):
        """(the critic's score of each image, higher for what it takes as real; its classifier's logits)."""
        x = images if self.convolutional else tf.reshape(images, [-1, SIDE * SIDE])
        for layer in self.critic[:-2]:
            x = tf.nn.leaky_relu(layer(x), 0.2)
        x = tf.reshape(x, [tf.shape(images)[0], -1])
        return self.critic[-2](x)[:, 0], self.critic[-1](x)

    def draw(self, n, task: int):
        """n latent codes, and digits of task `task`, from the training stream."""
        z = keras.random.normal([n, LATENT], seed=self.noise)
        y = keras.random.randint([n], 0, len(self.digits[task]), seed=self.noise)
        return z, y + self.digits[task][0]

    def critic_step(self, real, digits, replayed) -> None:
        """One step of the critic on real images of `digits` against as many generated ones of the same,
        and on each replayed digit's images by the frozen copy (as real) against the live generator's."""
        n = tf.shape(real)[0]
        fake = tf.stop_gradient(self.generate(keras.random.normal([n, LATENT], seed=self.noise), digits))
        with tf.GradientTape() as tape:
            penalty = gradient_penalty(lambda images: self.discriminate(images)[0], real, fake, self.noise)
            score_real, logits_real = self.discriminate(real)
            loss = (tf.reduce_mean(self.discriminate(fake)[0]) - tf.reduce_mean(score_real) + penalty
                    + cross_entropy(digits, logits_real))
            for old, new, replayed_digits in replayed:  # summed, each digit weighted as the new one (no penalty)
                score_old, logits_old = self.discriminate(old)
                loss += (tf.reduce_mean(self.discriminate(tf.stop_gradient(new))[0]) - tf.reduce_mean(score_old)
                         + cross_entropy(replayed_digits, logits_old))
        self.critic_optimizer.apply(tape.gradient(loss, self.critic_variables), self.critic_variables)

    def task_loss(self, x, y, task: int, training=False):
        """The critic's 5 steps on fifths of the real batch (when training), then the generator's loss on
        as many images as a fifth, of the digits of the batch's first fifth; with MeRGAN-JTR's replay, each
        step also on the earlier digits (`replay`), new codes for each."""
        n = tf.shape(x)[0]
        size = tf.maximum(n // CRITIC_STEPS, 1)
        real, digits = padded(x), y + self.digits[task][0]
        if training:
            for i in range(CRITIC_STEPS):
                start = tf.minimum(i * size, n - size)
                self.critic_step(real[start:start + size], digits[start:start + size], self.replay(task, size, True))
        digits = digits[:size]
        score, logits = self.discriminate(self.generate(keras.random.normal([size, LATENT], seed=self.noise), digits))
        loss = -tf.reduce_mean(score) + cross_entropy(digits, logits)
        for _, new, replayed_digits in self.replay(task, size, False):
            score, logits = self.discriminate(new)
            loss += -tf.reduce_mean(score) + cross_entropy(replayed_digits, logits)
        return loss, None

    def forward(self, x, task: int, training=False, trace=None):
        """As many generated images of task `task`'s digits as x has rows (x is not used). There is no
        `trace` of each layer's factors: per-sample gradients come from the Jacobian (`batch_coupled`)."""
        assert trace is None, "MeRGAN's batch norms couple the samples: no per-layer trace"
        return self.generate(*self.draw(tf.shape(x)[0], task))

    def prunable(self, variable) -> bool:
        """Not the conditional batch norms' scales and shifts: each of their rows is one digit's, and a
        digit not yet learned has no importance, so pruning would zero its rows first."""
        return not any(variable is v for layer in self.trunk if isinstance(layer, ConditionalBatchNorm)
                       for v in layer.trainable_variables)

    batch_coupled = True  # its conditional batch norms normalise by the batch's statistics

    def fisher_log_likelihood(self, x, images, seed):
        """Per generated image, log p(c | image) under the critic's classifier, c drawn from that
        prediction: the true Fisher of the classifier's distribution, as EWC's for a classifier, read
        from the discriminator's output as Seff et al. (2017) read theirs."""
        return sampled_log_likelihood(self.discriminate(images)[1], seed)

    def entropy(self, x, task: int):
        """I = the entropy of the critic's classifier for generated images of the task's digits, summed."""
        return softmax_entropy(self.discriminate(self.forward(x, task))[1])

    def judged_samples(self, task: int, stream: int = 0):
        """(images, their digits) that judge task `task`. The batch norms normalise by the batch, so the
        batches hold the digits as the task trained on them: a one-digit task's are batches of 64 of its
        digit (mergan.py:216-224), a task of several digits (their joint training, whose batches mix the
        digits) has batches that hold each digit 10 times in turn (joint.py's test). The codes are fixed
        by (seed, stream, task, batch), the same after every task, so that a change in what they give
        shows the generator's."""
        digits = self.digits[task]
        labels = np.full(SAMPLE_BATCH, digits[0]) if len(digits) == 1 else np.tile(digits, MIXED_REPEATS)
        key = seeds.key(self.seed, "gan_samples")
        codes = [tf.random.stateless_normal([len(labels), LATENT], seed=[key, 1000 * (stream * 10 + digits[0]) + b])
                 for b in range(JUDGED_BATCHES)]
        images = [self.generate(z, tf.constant(labels, tf.int32)) for z in codes]
        return tf.concat(images, axis=0), np.tile(labels, JUDGED_BATCHES)

    def evaluate(self, trainer, learned: int, validation: bool) -> dict:
        """After `learned` tasks, for each task learned: the share of its samples that the judge takes
        for the digit they were conditioned on, averaged over the task's digits; with `validation`, also
        of samples from other codes (validation_accuracy, what a sweep chooses on; a generator has no
        held-out images under this measure, so the choice is still made on the generator that the seed's
        table row reports). samples.png shows the first judged samples of each task."""
        judge = mergan_judge(self.dataset, self.data_dir)
        rows = {"accuracy": []} | ({"validation_accuracy": []} if validation else {})
        for j in range(learned):
            for name, stream in (("accuracy", 0), ("validation_accuracy", VALIDATION_STREAM)):
                if name in rows:
                    images, digits = self.judged_samples(j, stream)
                    hits = np.argmax(judge(images), axis=1) == digits
                    rows[name].append(100.0 * float(np.mean([np.mean(hits[digits == d]) for d in self.digits[j]])))
                    if stream == 0:
                        self.grid[learned - 1, j].assign(unpadded(images[:GRID_SAMPLES]))
        return rows

    def pictures(self, learned: int) -> dict:
        return {"samples.png": samples_png(self.grid.numpy()[:learned], self.digits, MNIST.shape)}

    def report(self) -> dict:
        return {"judge_test_accuracy": mergan_judge(self.dataset, self.data_dir).test_accuracy}


@lru_cache(maxsize=1)
def mergan_judge(dataset="mnist", data_dir=None) -> keras.Model:
    """MeRGAN's judge network (pretrain/mnist_test.py:31-47), trained here on the 60,000 padded training
    images (5 epochs of Adam, weights and order fixed, so every run and resume has the same judge); its
    test accuracy is kept as `test_accuracy`. It takes images in [-1, 1] and reads them in [0, 1], as
    theirs reads them in [0, 256] (mergan.py:221): on [-1, 1] itself it learned less (95.6% after 3
    epochs, against 97.4%)."""
    train, test = data.load(dataset, data_dir)
    inputs = keras.Input((SIDE, SIDE, CHANNELS))
    x = keras.layers.Flatten()(keras.layers.Rescaling(0.5, offset=0.5)(inputs))
    for i, width in enumerate(JUDGE_WIDTHS):
        x = keras.layers.Dense(width, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(seed=i))(x)
    judge = keras.Model(inputs, keras.layers.Dense(DIGITS, kernel_initializer=keras.initializers.GlorotUniform(seed=9))(x))
    judge.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = padded(train.images.astype(np.float32) / 255.0).numpy(), train.labels
    for epoch in range(JUDGE_EPOCHS):
        order = np.random.default_rng([0, epoch]).permutation(len(y))
        judge.fit(x[order], y[order], batch_size=128, epochs=1, shuffle=False, verbose=0)
    judge.test_accuracy = judged_accuracy(judge, padded(test.images.astype(np.float32) / 255.0), test.labels)
    return judge


def build(config, tasks) -> MeRGAN:
    dataset = data.DATASETS[tasks[0].dataset]
    if (dataset.shape, dataset.classes) != (MNIST.shape, MNIST.classes):
        raise UserError(f"--model {config.model} is Memory Replay GANs' MNIST network (grey 28x28 images of 10 "
                        f"classes); {dataset.title}'s are {'x'.join(map(str, dataset.shape))} of {dataset.classes}")
    return MeRGAN(config.model == "mergan", config.hidden, tasks, config.seed,
                  config.optimizer_state == "reset", config.data_dir)
