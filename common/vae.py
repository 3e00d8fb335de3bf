"""A VAE that learns MNIST one task (digit class, or pair) at a time: the generative counterpart of the
classifier in common/models.py, with the same interface, so that every method trains it unchanged.

image pixels -> encoder trunk (Dense, ReLU) -> task head (mu, log sigma^2 of a diagonal Gaussian q(z|x))
  z = mu + sigma * eps -> decoder trunk (Dense, ReLU) -> task head (one logit per pixel value, Bernoulli).
The two trunks are shared, and each task has its own heads, the encoder's output layer and the
decoder's, as the classifiers have one output layer per task; with --scenario domain all tasks share
one pair. Pixels are MNIST's grey levels in [0, 1], used as Bernoulli targets (the usual MNIST VAE).

What the methods see:
- task_loss: the negative ELBO of a batch, one sample of z per image;
- entropy (ANPyC's importance): the entropy of the decoder's Bernoulli pixels, z at the posterior mean;
- fisher_log_likelihood (EWC): the ELBO's likelihood term log p(x|z), z at the posterior mean;
- score (the result matrix): each test image's negative ELBO in nats, with noise fixed by (seed, task).
After each task, 1,000 samples z ~ N(0, I) of every task learned are decoded and judged by a classifier
trained on real MNIST (accuracy.csv: the share judged to be one of the task's digits), and samples.png
shows a few of each task, row by row as tasks are learned.
"""
from functools import lru_cache

import keras
import numpy as np
import tensorflow as tf

from common import data, seeds
from common.models import TaskNetwork, initializers, network_init
from common.results import figure_png, plt

JUDGED_SAMPLES = 1000
GRID_SAMPLES = 6  # samples of each task in each row of samples.png


class Head(keras.layers.Layer):
    """One task's output layers: the encoder's (mu and log sigma^2) and the decoder's (pixel logits)."""

    def __init__(self, latent: int, pixels: int, init: str, name: str):
        super().__init__(name=name)
        self.encoder = keras.layers.Dense(2 * latent, name=f"{name}_encoder", **initializers(init))
        self.decoder = keras.layers.Dense(pixels, name=f"{name}_decoder", **initializers(init))


def bernoulli_log_likelihood(x, logits):
    """Per image, log p(x | logits) = -sum over pixels of the binary cross-entropy."""
    return -tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), axis=1)


def bernoulli_entropy(logits):
    """Entropy of Bernoulli(sigmoid(l)), element-wise: softplus(l) - sigmoid(l) * l."""
    return tf.nn.softplus(logits) - tf.sigmoid(logits) * logits


class VAE(TaskNetwork):
    def __init__(self, hidden: list[int], latent: int, tasks: list, heads: int, init: str, seed: int, data_dir=None,
                 inputs: int | None = None):
        """`inputs`: the values of one image, by default the dataset's (the tests' tiny VAE has 4)."""
        super().__init__(name="vae")  # a fixed name: checkpoints key its own weights by it
        self.latent, self.seed, self.data_dir = latent, seed, data_dir
        self.digits = [task.digits for task in tasks]
        self.dataset, self.shape = tasks[0].dataset, tasks[0].shape
        inputs = inputs or int(np.prod(self.shape))
        encoder = [keras.layers.Dense(w, name=f"encoder_{i}", **initializers(init)) for i, w in enumerate(hidden)]
        decoder = [keras.layers.Dense(w, name=f"decoder_{i}", **initializers(init)) for i, w in enumerate(hidden[::-1])]
        self.trunk, self.encoder_trunk, self.decoder_trunk = encoder + decoder, encoder, decoder
        self.heads = [Head(latent, inputs, init, f"head_{t}") for t in range(heads)]
        self.noise = seeds.generator(seed, "vae_noise")  # z's noise while training (its state is checkpointed)
        self.grid = self.add_weight(shape=(len(tasks), len(tasks), GRID_SAMPLES, inputs),
                                    initializer="zeros", trainable=False, name="samples_grid")
        for t in range(heads):
            self.forward(tf.zeros([1, inputs]), t)

    @property
    def shared_layers(self) -> list:
        """The weighted layers behind `shared_variables`, in the same order."""
        return self.trunk + ([self.heads[0].encoder, self.heads[0].decoder] if len(self.heads) == 1 else [])

    @staticmethod
    def _chain(layers, x, trace):
        """Dense layers, ReLU after all but the last; `trace` receives (layer, input, pre-activation)."""
        for i, layer in enumerate(layers):
            inputs, x = x, layer(x)
            if trace is not None:
                trace.append((layer, inputs, x))
            x = tf.nn.relu(x) if i < len(layers) - 1 else x
        return x

    def encode(self, x, task: int, trace=None):
        """(mu, log sigma^2) of q(z|x)."""
        return tf.split(self._chain(self.encoder_trunk + [self.head(task).encoder], x, trace), 2, axis=1)

    def decode(self, z, task: int, trace=None):
        """The pixel logits of p(x|z)."""
        return self._chain(self.decoder_trunk + [self.head(task).decoder], z, trace)

    def forward(self, x, task: int, training=False, trace=None):
        """Pixel logits of the reconstruction of x: z sampled while training, z = mu otherwise."""
        mu, log_var = self.encode(x, task, trace)
        z = mu + tf.exp(0.5 * log_var) * keras.random.normal(tf.shape(mu), seed=self.noise) if training else mu
        return self.decode(z, task, trace)

    def negative_elbo(self, x, task: int, noise):
        """Per image, -ELBO = -log p(x|z) + KL(q(z|x) || N(0, I)) in nats, z = mu + sigma * noise."""
        mu, log_var = self.encode(x, task)
        logits = self.decode(mu + tf.exp(0.5 * log_var) * noise, task)
        kl = 0.5 * tf.reduce_sum(tf.exp(log_var) + tf.square(mu) - 1.0 - log_var, axis=1)
        return kl - bernoulli_log_likelihood(x, logits)

    def task_loss(self, x, y, task: int, training=False):
        noise = keras.random.normal([tf.shape(x)[0], self.latent], seed=self.noise)
        return tf.reduce_mean(self.negative_elbo(x, task, noise)), None

    def entropy(self, x, task: int):
        """I = the entropy of the decoder's Bernoulli pixels, summed over the batch and the pixels."""
        return tf.reduce_sum(bernoulli_entropy(self.forward(x, task)))

    def fisher_log_likelihood(self, x, logits, seed):
        return bernoulli_log_likelihood(x, logits)

    def codes(self, n, task: int, purpose: str, stream: int = 0):
        """n standard normal latent vectors fixed by (seed, purpose, task, stream): the same after every
        task, so that a change in what they give shows the network's."""
        return tf.random.stateless_normal([n, self.latent], seed=[seeds.key(self.seed, purpose), 1000 * stream + task])

    def score(self, x, y, task: int):
        return self.negative_elbo(x, task, self.codes(tf.shape(x)[0], task, "vae_score"))

    def sample(self, task: int, n: int, stream: int = 0):
        """n images (Bernoulli means, [n, pixels]) from task `task`'s decoder, z ~ N(0, I) (`codes`)."""
        return tf.sigmoid(self.decode(self.codes(n, task, "vae_samples", stream), task))

    def evaluate(self, trainer, learned: int, validation: bool) -> dict:
        """After `learned` tasks: test negative ELBO of each task learned (and validation), and the
        judge's accuracy on each task's samples (accuracy.csv)."""
        judge = sample_judge(self.dataset, self.data_dir)
        accuracy = []
        for j in range(learned):
            predicted = np.argmax(judge(self.sample(j, JUDGED_SAMPLES)), axis=1)
            accuracy.append(100.0 * float(np.mean(np.isin(predicted, self.digits[j]))))
            self.grid[learned - 1, j].assign(self.sample(j, GRID_SAMPLES, stream=1))
        rows = {"accuracy": accuracy, "nll": [trainer.score(j) for j in range(learned)]}
        if validation:
            rows["validation_nll"] = [trainer.score(j, "validation") for j in range(learned)]
        return rows

    def pictures(self, learned: int) -> dict:
        return {"samples.png": samples_png(self.grid.numpy()[:learned], self.digits, self.shape)}

    def report(self) -> dict:
        return {"judge_test_accuracy": sample_judge(self.dataset, self.data_dir).test_accuracy}


def samples_png(grid, digits, shape) -> bytes:
    """Row i: samples of every task learned after training task i+1 (blank for tasks not yet seen); images
    of `shape` (height, width, channels), in grey or in colour."""
    rows, tasks, k = grid.shape[:3]
    (h, w, c), (across, down) = shape, (0.01, 0.0107)  # inches a pixel takes in the figure
    images = grid.reshape(rows, tasks, k, h, w, c).transpose(0, 3, 1, 2, 4, 5).reshape(rows * h, tasks * k * w, c)
    figure, axis = plt.subplots(figsize=(1.2 + tasks * k * w * across, 0.6 + rows * h * down), constrained_layout=True)
    axis.imshow(images[..., 0] if c == 1 else np.clip(images, 0, 1), cmap="gray", vmin=0, vmax=1)
    separator = "" if max(map(max, digits)) < 10 else "-"  # "01" for MNIST's digits 0 and 1, "10-11" for two classes
    axis.set_xticks(np.arange(tasks) * k * w + k * w // 2, [separator.join(map(str, d)) for d in digits], fontsize=7)
    axis.set_yticks(np.arange(rows) * h + h // 2, np.arange(1, rows + 1), fontsize=7)
    axis.set(xlabel="samples of each task, by the class(es) it shows", ylabel="after task")
    for t in range(1, tasks):
        axis.axvline(t * k * w - 0.5, color="tab:red", lw=0.6)
    return figure_png(figure, dpi=110)


@lru_cache(maxsize=1)
def sample_judge(dataset="mnist", data_dir=None) -> keras.Model:
    """A classifier of the dataset's real images (pixels-256-classes, 3 epochs of Adam on every training
    image, weights and order fixed, so every run and resume has the same judge): it tells which class
    (MNIST's digit) a sample shows. Its accuracy on the test images is kept as `test_accuracy`."""
    train, test = data.load(dataset, data_dir)
    x, y = train.images.astype(np.float32) / 255.0, train.labels
    judge = keras.Sequential([
        keras.Input((data.DATASETS[dataset].pixels,)),
        keras.layers.Dense(256, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(seed=0)),
        keras.layers.Dense(data.DATASETS[dataset].classes, kernel_initializer=keras.initializers.GlorotUniform(seed=1)),
    ])
    judge.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    for epoch in range(3):
        order = np.random.default_rng([0, epoch]).permutation(len(y))
        judge.fit(x[order], y[order], batch_size=128, epochs=1, shuffle=False, verbose=0)
    judge.test_accuracy = judged_accuracy(judge, test.images.astype(np.float32) / 255.0, test.labels)
    return judge


def judged_accuracy(judge: keras.Model, x, labels) -> float:
    """The judge's accuracy (%, to two decimals) on images `x` of classes `labels`."""
    predicted = np.argmax(judge.predict(x, batch_size=1000, verbose=0), 1)
    return round(100.0 * float(np.mean(predicted == labels)), 2)


def build(config, tasks) -> VAE:
    heads = 1 if config.scenario == "domain" else len(tasks)
    return VAE(config.hidden, config.latent, tasks, heads, network_init(config.init, "vae"), config.seed, config.data_dir)
