"""A conditional GAN that learns MNIST one task (a digit, or a pair) at a time: the adversarial
counterpart of the VAE (common/vae.py), with the classifiers' interface, so that every method trains
its generator unchanged.

Generator, the network the methods see and consolidate: [z (--latent), one-hot digit] -> Dense trunk
(--hidden, ReLU) -> one output layer of pixel logits, the image being their sigmoid. It is
conditioned on the digit, so one output layer serves every task. Critic (the discriminator): [image,
one-hot digit] -> Dense 512 -> 256 (leaky ReLU, 0.2) -> 1 score; shared by all tasks, trained only on the
images that the training step calls real.

The loss is WGAN-GP's (Gulrajani et al. 2017), as in Memory Replay GANs (Wu et al. 2018), with one
critic step per generator step and the critic's Adam four times faster (lr 4e-4, betas 0.5 and 0.9;
the two time-scale rule of Heusel et al. 2017). We tried the non-saturating loss first: at this budget
its generator collapsed onto one image per digit (every sample alike). The adversarial step
lives in `task_loss`: given a batch of real images of task t, it takes one critic step (real against as
many generated images of the same digits), then returns the generator's loss, -D(G(z, d)), on a fresh
batch. A method that replays older data through `task_loss` (joint, replay, generative replay) so also
shows it to the critic as real, as the papers' joint training does.

What the methods see (MLPs, no pixel noise):
- entropy (ANPyC's importance): the entropy of the generator's output pixels, read as Bernoulli means,
  for samples of the task's digits;
- fisher_log_likelihood (EWC): log p(b) of pixels b drawn from those Bernoulli means (the generator's
  own distribution: the true Fisher, as EWC's labels drawn from a classifier's prediction).
After each task, 1,000 samples of each task learned (digits balanced, codes fixed by (seed, task)) are
judged by the VAE's classifier of real MNIST (accuracy.csv: the share judged to show the digit they
were conditioned on; Wu et al. 2018's metric), and fid.csv holds the Fréchet distance between them and
the task's real test images in the judge's hidden features (256): accuracy misses mode collapse, the
distance does not. With --validation, validation_fid.csv compares with the held-out training images.
"""
import keras
import numpy as np
import tensorflow as tf

from common import data, seeds
from common.models import TaskNetwork, initializers, network_init
from common.training import Adam
from common.vae import GRID_SAMPLES, JUDGED_SAMPLES, bernoulli_entropy, samples_png, sample_judge

GRADIENT_PENALTY = 10.0  # Gulrajani et al. 2017's lambda


def gradient_penalty(discriminate, real, fake, noise):
    """WGAN-GP's penalty (Gulrajani et al. 2017): 10 (||grad D(x_hat)|| - 1)^2, averaged over the batch,
    at x_hat = eps real + (1 - eps) fake, eps ~ U(0, 1) per image; `discriminate` gives each image's
    score. Memory Replay GANs' critic (common/mergan.py) uses it too."""
    eps = keras.random.uniform([tf.shape(real)[0]] + [1] * (len(real.shape) - 1), seed=noise)
    mixed = eps * real + (1 - eps) * fake
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        score = discriminate(mixed)
    slopes = tf.norm(tf.reshape(tape.gradient(score, mixed), [tf.shape(real)[0], -1]), axis=1)
    return GRADIENT_PENALTY * tf.reduce_mean(tf.square(slopes - 1.0))


def psd_sqrt(matrix):
    """The symmetric square root of a symmetric positive semi-definite matrix (rounding's negative
    eigenvalues taken as 0)."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mu_a, cov_a, mu_b, cov_b) -> float:
    """||mu_a - mu_b||^2 + Tr(cov_a + cov_b - 2 (cov_a cov_b)^(1/2)) (Heusel et al. 2017): the Fréchet
    distance between two Gaussians. Tr (cov_a cov_b)^(1/2) is the sum of the square roots of the
    eigenvalues of cov_a^(1/2) cov_b cov_a^(1/2), which is symmetric: stable where the covariances are
    singular (features that a ReLU keeps at zero)."""
    root = psd_sqrt(cov_a)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root @ cov_b @ root), 0, None)).sum()
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)


def feature_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to two sets of feature vectors (rows)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


class GAN(TaskNetwork):
    def __init__(self, hidden: list[int], latent: int, tasks: list, init: str, seed: int, data_dir=None):
        super().__init__(name="gan")  # a fixed name: checkpoints key its own weights by it
        self.latent, self.seed, self.data_dir = latent, seed, data_dir
        self.digits = [task.digits for task in tasks]
        self.dataset, self.shape = tasks[0].dataset, tasks[0].shape
        self.classes, pixels = data.DATASETS[self.dataset].classes, int(np.prod(self.shape))
        self.trunk = [keras.layers.Dense(w, name=f"generator_{i}", **initializers(init)) for i, w in enumerate(hidden)]
        self.heads = [keras.layers.Dense(pixels, name="generator_output", **initializers(init))]
        self.critic = [keras.layers.Dense(w, name=f"discriminator_{i}", **initializers(init))
                       for i, w in enumerate((512, 256, 1))]
        self.noise = seeds.generator(seed, "gan_noise")  # z and digits while training (checkpointed)
        self.grid = self.add_weight(shape=(len(tasks), len(tasks), GRID_SAMPLES, pixels),
                                    initializer="zeros", trainable=False, name="samples_grid")
        self.generate(tf.zeros([1, latent]), tf.zeros([1], tf.int32))
        self.discriminate(tf.zeros([1, pixels]), tf.zeros([1], tf.int32))
        self.critic_variables = [v for layer in self.critic for v in layer.trainable_variables]
        self.critic_optimizer = Adam(4e-4, beta_1=0.5, beta_2=0.9, name="discriminator_optimizer")
        self.critic_optimizer.build(self.critic_variables)
        self._real_features = {}

    @property
    def shared_layers(self) -> list:
        return self.trunk + self.heads

    def state_variables(self) -> list:
        return self.critic_optimizer.variables

    def generate(self, z, digits, trace=None, weights=None):
        """Pixel logits of G(z, digit). `weights`, if given, are (kernel, bias) pairs that replace the
        generator's own (a frozen copy: generative replay)."""
        x = tf.concat([z, tf.one_hot(digits, self.classes)], axis=1)
        layers = self.trunk + self.heads
        for i, layer in enumerate(layers):
            inputs = x
            x = layer(x) if weights is None else x @ weights[i][0] + weights[i][1]
            if trace is not None:
                trace.append((layer, inputs, x))
            x = tf.nn.relu(x) if i < len(layers) - 1 else x
        return x

    def discriminate(self, images, digits):
        """The critic's score of each image: higher for what it takes as real."""
        x = tf.concat([images, tf.one_hot(digits, self.classes)], axis=1)
        for i, layer in enumerate(self.critic):
            x = layer(x)
            x = tf.nn.leaky_relu(x, 0.2) if i < len(self.critic) - 1 else x
        return x[:, 0]

    def digit(self, y, task: int):
        """Task `task`'s labels (0, 1, ... within the task) as digits."""
        return y + self.digits[task][0]

    def draw(self, n, task: int):
        """n latent codes and digits of task `task`, from the training stream."""
        z = keras.random.normal([n, self.latent], seed=self.noise)
        y = keras.random.randint([n], 0, len(self.digits[task]), seed=self.noise)
        return z, self.digit(y, task)

    def critic_step(self, x, digits) -> None:
        """One step of the critic on real images x of `digits` against as many generated images of the
        same digits: WGAN-GP's loss, D(fake) - D(real) + 10 (||grad D(x_hat)|| - 1)^2 at random points
        x_hat between real and generated images."""
        n = tf.shape(x)[0]
        fake = tf.stop_gradient(tf.sigmoid(self.generate(keras.random.normal([n, self.latent], seed=self.noise), digits)))
        with tf.GradientTape() as tape:
            penalty = gradient_penalty(lambda images: self.discriminate(images, digits), x, fake, self.noise)
            loss = (tf.reduce_mean(self.discriminate(fake, digits)) - tf.reduce_mean(self.discriminate(x, digits))
                    + penalty)
        self.critic_optimizer.apply(tape.gradient(loss, self.critic_variables), self.critic_variables)

    def task_loss(self, x, y, task: int, training=False):
        """One critic step on the real batch (when training), then the generator's loss, -D(G(z, d))."""
        n = tf.shape(x)[0]
        if training:
            self.critic_step(x, self.digit(y, task))
        z, digits = self.draw(n, task)
        return -tf.reduce_mean(self.discriminate(tf.sigmoid(self.generate(z, digits)), digits)), None

    def forward(self, x, task: int, training=False, trace=None):
        """Pixel logits of as many samples of task `task`'s digits as x has images (x is not used)."""
        return self.generate(*self.draw(tf.shape(x)[0], task), trace=trace)

    def entropy(self, x, task: int):
        """I = the entropy of the generated Bernoulli pixels, summed over the samples and the pixels."""
        return tf.reduce_sum(bernoulli_entropy(self.forward(x, task)))

    def fisher_log_likelihood(self, x, logits, seed):
        pixels = tf.stop_gradient(tf.cast(keras.random.uniform(tf.shape(logits), seed=seed) < tf.sigmoid(logits), tf.float32))
        return -tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=pixels, logits=logits), axis=1)

    def replay(self, task: int, n: int, weights):
        """n generated images of task `task` (its digits drawn at random) and their labels within the
        task, from the generator with `weights`: what generative replay calls real."""
        z, digits = self.draw(n, task)
        return tf.stop_gradient(tf.sigmoid(self.generate(z, digits, weights=weights))), digits - self.digits[task][0]

    def samples(self, task: int, n: int, stream: int = 0):
        """(n images, their digits): task `task`'s digits in equal shares, codes fixed by (seed, task),
        the same after every task, so that a change in what they give shows the generator's."""
        digits = np.repeat(self.digits[task], -(-n // len(self.digits[task])))[:n]
        z = tf.random.stateless_normal([n, self.latent], seed=[seeds.key(self.seed, "gan_samples"), 1000 * stream + task])
        return tf.sigmoid(self.generate(z, tf.constant(digits, tf.int32))), digits

    def real_features(self, trainer, task: int, split: str, features):
        """The judge's features of task `task`'s real images of `split` (computed once)."""
        key = (task, split)
        if key not in self._real_features:
            size = int(tf.size(trainer.data[task].splits[split][1]))
            self._real_features[key] = features(trainer.data[task].batch(tf.range(size), split)[0]).numpy()
        return self._real_features[key]

    def evaluate(self, trainer, learned: int, validation: bool) -> dict:
        """After `learned` tasks, for each task learned: the judge's accuracy on its samples, and the
        Fréchet distance of their features to its real test (and validation) images'."""
        judge = sample_judge(self.dataset, self.data_dir)
        features = keras.Model(judge.inputs, judge.layers[0].output)
        rows = {"accuracy": [], "fid": []} | ({"validation_fid": []} if validation else {})
        for j in range(learned):
            images, digits = self.samples(j, JUDGED_SAMPLES)
            rows["accuracy"].append(100.0 * float(np.mean(np.argmax(judge(images), axis=1) == digits)))
            generated = features(images).numpy()
            for name, split in (("fid", "test"), ("validation_fid", "validation")):
                if name in rows:
                    rows[name].append(feature_distance(generated, self.real_features(trainer, j, split, features)))
            self.grid[learned - 1, j].assign(self.samples(j, GRID_SAMPLES, stream=1)[0])
        return rows

    def pictures(self, learned: int) -> dict:
        return {"samples.png": samples_png(self.grid.numpy()[:learned], self.digits, self.shape)}

    def report(self) -> dict:
        return {"judge_test_accuracy": sample_judge(self.dataset, self.data_dir).test_accuracy}


def build(config, tasks) -> GAN:
    return GAN(config.hidden, config.latent, tasks, network_init(config.init, "gan"), config.seed, config.data_dir)
