"""The shared training loop: a compiled epoch, evaluation, and task-wide means for importance measures.

Speed comes from four choices. A whole epoch is one tf.function call (the batch loop runs in the graph, with
no Python per step). The dataset's images live on the run's device once, shared by every task (a task is a
set of rows), in the smallest dtype the device can gather: uint8 on a CPU, where the tensor uses the
loader's own memory, float32 in [0, 1] on a GPU (GatherV2 has GPU kernels for float32 and int32, none for
uint8); a batch is scaled to [0, 1] after its gather, which gives the same values as scaling them all first.
While a task trains, its training images are held permuted, so a step's batch (and a batch of the task's
importance) is one gather; evaluation and anything on older tasks (joint's replay) gather and permute each
batch inside the graph. Each task's training functions are traced once and reused for every epoch of that
task, then dropped; one evaluation graph serves every task, so that what a run keeps does not grow with the
number of tasks.
"""
import gc
import math
from functools import partial
import time

import keras
import numpy as np
import tensorflow as tf

from common.data import ALIGNMENT
from common.errors import UserError
from common.method import Batch

EVAL_BATCH = 1000


class OneReplica:
    """Keras' TensorFlow optimisers sum each step's gradients over the replicas of a distribution strategy
    through a tf.custom_gradient, and TensorFlow registers every custom gradient of a traced graph in its
    global gradient registry, for good: each graph that calls `apply` (one epoch graph per task) then
    lives as long as the process, about 1.1 MB a graph in a bare loop and about 1.9 MB a task in a
    fine-tuning run (docs/speed.md, "Memory over long sequences"). A run here has one replica, where that
    sum is the identity, so it is left out; the steps are the same."""

    def _all_reduce_sum_gradients(self, grads_and_vars):
        return list(grads_and_vars)


class SGD(OneReplica, keras.optimizers.SGD):
    pass


class Adam(OneReplica, keras.optimizers.Adam):
    pass


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def optimizer(config):
    """The run's optimiser for the trained network, at config.lr (and Adam's betas)."""
    betas = dict(beta_1=config.beta_1, beta_2=config.beta_2) if config.optimizer == "adam" else {}
    return OPTIMIZERS[config.optimizer](learning_rate=config.lr, name="optimizer", **betas)  # checkpoint names


def reset(optimizer) -> None:
    """An optimiser's state as before its first step: step count and moments at zero, its learning
    rate kept (Memory Replay GANs start each task so, mergan.py:340-341)."""
    for variable in optimizer.variables:
        if variable is not optimizer.learning_rate:
            variable.assign(tf.zeros_like(variable))


class RunError(UserError):
    """A run that cannot go on (a non-finite loss); what finished before it stays on disk."""


class TaskData:
    """A task's splits as tensors on the run's device, each (the dataset's images, the split's labels, the
    split's rows of the images or None); batches are made from indices, in the graph."""

    def __init__(self, task, device_arrays: dict):
        def on_device(array, convert):
            # Tasks share the dataset's images (and permuted tasks their labels and rows): one device
            # tensor per numpy array.
            if id(array) not in device_arrays:
                device_arrays[id(array)] = (array, convert(array))
            return device_arrays[id(array)][1]

        self.splits = {
            name: (on_device(split.source, held_images), on_device(split.labels, tf.constant),
                   None if split.index is None else on_device(split.index, tf.constant))
            for name, split in (("train", task.train), ("validation", task.validation), ("test", task.test))
        }
        self.size = len(task.train.labels)
        self.permutation = None if task.permutation is None else tf.constant(task.permutation)

    def training_set(self):
        """(x [n, pixels] as stored, y int32 [n]): the whole training split, permuted at once, so that each
        training step's batch is one gather (then `pixels`). The trainer holds it only while the task
        trains: a sequence of 100 tasks still needs one task's worth of it."""
        return self.rows(tf.range(self.size))

    def rows(self, indices, split="train"):
        """(x [b, pixels] as stored, permuted, y int32 [b]) for the given indices of `split`."""
        return rows(*self.splits[split], indices, self.permutation)

    def batch(self, indices, split="train"):
        """(x float32 [b, pixels] in [0, 1], y int32 [b]) for the given indices of `split`."""
        x, y = self.rows(indices, split)
        return pixels(x), y


def rows(images, labels, index, indices, permutation):
    """(x [b, pixels] as stored, y int32 [b]): examples `indices` of a split, that is rows `index[indices]`
    of the dataset's `images` (rows `indices` when `index` is None), their pixels reordered by
    `permutation` (or not, when None)."""
    x = tf.gather(images, indices if index is None else tf.gather(index, indices))
    if permutation is not None:
        x = tf.gather(x, permutation, axis=1)
    return x, tf.gather(labels, indices)


def held_dtype():
    """How images are held on the run's device: uint8 on a CPU, float32 where a GPU must gather them."""
    return tf.float32 if tf.config.list_physical_devices("GPU") else tf.uint8


def held_images(images: np.ndarray):
    """The dataset's uint8 images as the run's device holds them (`held_dtype`). On a CPU, an array
    aligned as TensorFlow needs (common/data.py's loader aligns it) becomes a tensor over the same memory, through
    DLPack, rather than a second copy (55 MB for MNIST); any other array is copied."""
    if held_dtype() == tf.float32:
        return scaled(tf.constant(images))
    shareable = (images.flags.c_contiguous and images.flags.writeable
                 and images.ctypes.data % ALIGNMENT == 0)
    return tf.experimental.dlpack.from_dlpack(images.__dlpack__()) if shareable else tf.constant(images)


def scaled(images):
    """uint8 pixels as float32 in [0, 1]."""
    return tf.cast(images, tf.float32) / 255.0


# The divisor of `pixels`, read from a variable: inside a tf.function, TensorFlow's graph optimiser turns
# x / 255 (a constant) into x * (1 / 255), which differs in the last bit for half of the 256 values, but it
# cannot fold a variable, so a batch is divided exactly, as `scaled` does eagerly. (A lookup table of the 256
# values gives the same numbers, at 0.45 ms a step more on the pruning script's network: docs/speed.md (r).)
with tf.device("/CPU:0"):  # only uint8 images, held on a CPU, are divided
    PIXEL_DIVISOR = tf.Variable(255.0, trainable=False, name="pixel_divisor")


def pixels(x):
    """A batch as float32 in [0, 1], whichever way its images are held: the same values as `scaled`."""
    return tf.cast(x, tf.float32) / PIXEL_DIVISOR if x.dtype == tf.uint8 else x


def batch_ranges(n, batch_size):
    """Number of batches, and a function from batch number to its index range, for n examples."""
    count = (n + batch_size - 1) // batch_size
    return count, lambda i: tf.range(i * batch_size, tf.minimum((i + 1) * batch_size, n))


class Trainer:
    """Trains `model` on `tasks` one after the other, with `method`'s hooks (common/method.py)."""

    def __init__(self, model, tasks, method, config, log=print, summaries=None):
        self.model, self.tasks, self.method, self.config, self.log = model, tasks, method, config, log
        self.summaries = summaries  # TensorBoard event files (common/summaries.py), or None
        device_arrays = {}
        self.data = [TaskData(task, device_arrays) for task in tasks]
        self.optimizer = optimizer(config)
        self.optimizer.build(model.trainable_variables)
        self._epoch_fns, self._mean_fns = {}, {}
        self._evaluate = self._evaluation()
        self._held = {}  # the training task's set, permuted (TaskData.training_set), while it trains
        self._round = self._epochs_done = 0
        method.setup(self)

    def learn(self, task: int) -> None:
        """The whole of task `task`: the optimiser's reset (--optimizer-state reset), the network's start_task, the method's before hook, the epochs (and the task's --extra-epochs),
        the method's after hook."""
        self._round = self._epochs_done = 0
        if self.config.optimizer_state == "reset":
            reset(self.optimizer)
        self.model.start_task(task)
        self.method.before_task(self, task)
        self.train(task, self.config.epochs, iters=self.config.iters)
        extra = self.config.extra_epochs
        if extra and extra[task]:
            self.train(task, extra[task], phase="extra")
        self.method.after_task(self, task)
        self._held.clear()  # and the task's graphs: its training set must not outlive it
        self._epoch_fns.clear()
        self._mean_fns.clear()
        gc.collect()

    def learning_rate(self, task: int, phase: str) -> float:
        """The staircase schedule: lr * decay^(epochs of this task so far // lr_decay_epochs). The count
        runs on through a task's retraining rounds and restarts with each task; the decay is
        lr_decay_first while the first task trains, if set (the authors' pruning script), else lr_decay."""
        cfg = self.config
        if cfg.lr_decay_epochs is None:  # no decay (cli.py records it so)
            return cfg.lr
        first = cfg.lr_decay_first
        decay = first if first is not None and task == 0 and phase == "train" else cfg.lr_decay
        return cfg.lr * decay ** (self._epochs_done // cfg.lr_decay_epochs)

    def train(self, task: int, epochs: int, phase: str = "train", iters: int | None = None) -> None:
        """`epochs` epochs on task `task`, or `iters` minibatches if given (epochs of the task's data, the
        last one cut short). Shuffling depends on (seed, task, round, epoch) only."""
        cfg, size = self.config, self.data[task].size
        epoch_fn = self._epoch_fn(task)
        per_epoch = -(-size // cfg.batch_size)
        if iters is not None:
            epochs = -(-iters // per_epoch)
        for epoch in range(epochs):
            lr = self.learning_rate(task, phase)
            self._epochs_done += 1
            self.optimizer.learning_rate.assign(lr)
            self.method.before_epoch(self, task, lr)
            order = np.random.default_rng([cfg.seed, task, self._round, epoch]).permutation(size)
            if iters is not None:
                order = order[: min(iters - epoch * per_epoch, per_epoch) * cfg.batch_size]
            start = time.perf_counter()
            loss = float(epoch_fn(tf.constant(order, tf.int32)))
            if not math.isfinite(loss):
                raise RunError(
                    f"the loss became {loss} in task {task + 1}, {phase} epoch {epoch + 1} "
                    f"(lr {lr:g}): try a smaller --lr"
                )
            self.log(
                f"task {task + 1}/{len(self.tasks)}  {phase} epoch {epoch + 1}/{epochs}  "
                f"loss {loss:.4f}  lr {lr:.4g}  {time.perf_counter() - start:.1f}s"
            )
            if self.summaries:
                self.summaries.scalars(int(self.optimizer.iterations), {"train/loss": loss, "train/lr": lr})
        self._round += 1

    def _epoch_fn(self, task: int):
        if task in self._epoch_fns:
            return self._epoch_fns[task]
        model, method = self.model, self.method
        variables = method.trainable_variables(model, task)
        batch_size = self.config.batch_size
        if task not in self._held:
            self._held[task] = self.data[task].training_set()
        images, labels = self._held[task]

        def step(x, y, indices):
            with tf.GradientTape(persistent=method.uses_task_gradients) as tape:
                task_loss, features = model.task_loss(x, y, task, training=True)
                penalty = method.penalty(model, task, Batch(x, y, indices, features))
                loss = method.total_loss(task_loss, penalty, task)
            if method.uses_task_gradients:
                task_grads = tape.gradient(task_loss, variables)
                penalty_grads = tape.gradient(penalty, variables)
                grads = [g if p is None else g + p for g, p in zip(task_grads, penalty_grads)]
            else:
                task_grads, grads = None, tape.gradient(loss, variables)
            method.apply_step(self.optimizer, grads, variables, task_grads)
            return loss

        @tf.function
        def epoch(order, images, labels):
            count, _ = batch_ranges(tf.size(order), batch_size)
            total = tf.constant(0.0)
            for i in tf.range(count):
                indices = order[i * batch_size : (i + 1) * batch_size]
                total += step(pixels(tf.gather(images, indices)), tf.gather(labels, indices), indices)
            return total / tf.cast(count, tf.float32)

        # The training set goes in as an argument: a graph that captured it would keep it after the task.
        self._epoch_fns[task] = partial(epoch, images=images, labels=labels)
        return self._epoch_fns[task]

    def score(self, task: int, split: str = "test") -> float:
        """The mean of the model's per-sample score on task `task`'s `split`, dropout off, inside the
        method's `evaluating` context: a classifier's accuracy in percent, a VAE's negative ELBO in nats."""
        data = self.data[task]
        with self.method.evaluating(self, task):
            own = self.model.task_variables(task)
            return float(self._evaluate(*data.splits[split], data.permutation, tf.constant(task), own))

    def _evaluation(self):
        """One function that scores every task, traced once per kind of argument (a split's size, with or
        without a permutation) rather than once per task: the task's split, permutation and number come in
        as arguments, and its own variables (its head's) are read in place of task 0's, so that the graphs
        kept do not grow with the number of tasks (a graph per task cost 1.5 to 1.8 MB, docs/speed.md)."""
        model = self.model
        stand_in = model.task_variables(0)

        @tf.function(reduce_retracing=True)
        def evaluate(images, labels, index, permutation, task, own):
            n = tf.size(labels)
            count, indices_of = batch_ranges(n, EVAL_BATCH)
            total = tf.constant(0.0)
            with keras.StatelessScope(state_mapping=list(zip(stand_in, own, strict=True))):
                for i in tf.range(count):
                    x, y = rows(images, labels, index, indices_of(i), permutation)
                    total += tf.reduce_sum(model.score(pixels(x), y, task))
            return total / tf.cast(n, tf.float32)

        return evaluate

    def task_mean(self, batch_fn, task: int, batch_size: int, per_sample: bool, limit: int | None = None):
        """The mean of `batch_fn(model, task, x)` over task `task`'s training images, in order.

        batch_fn returns one tensor per shared variable. With per_sample=False it gives a batch's value
        and the mean is over batches; with per_sample=True it gives the sum over the batch's examples
        and the mean is over examples. `limit` uses only the first `limit` images. Dropout is off.
        """
        held = self._held.get(task)  # the task being learned reads its held set: one gather per batch
        key = (batch_fn, task, batch_size, per_sample, limit, held is not None)
        if key not in self._mean_fns:
            data, model = self.data[task], self.model
            n = data.size if limit is None else min(limit, data.size)
            count, indices_of = batch_ranges(n, batch_size)

            @tf.function
            def mean(images):
                totals = [tf.zeros_like(v) for v in model.shared_variables]
                for i in tf.range(count):
                    x = data.batch(indices_of(i))[0] if images is None else pixels(tf.gather(images, indices_of(i)))
                    totals = [t + b for t, b in zip(totals, batch_fn(model, task, x))]
                return [t / float(n if per_sample else count) for t in totals]

            self._mean_fns[key] = partial(mean, None if held is None else held[0])
        return self._mean_fns[key]()
