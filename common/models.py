"""The networks: a shared trunk (an MLP or a small CNN) and one output head per task, or one shared head.

The forward pass is written out layer by layer instead of using keras.Sequential, so that importance
code can ask for each weighted layer's input and pre-activation output (`trace`): per-sample gradients
of a whole batch follow from those two in one vectorised operation (see common/importance.py).
"""
import contextlib

import keras
import numpy as np
import tensorflow as tf

# --precision: Keras' dtype policy of the layers a classifier is built with. "bfloat16" (mixed_bfloat16)
# computes each layer in bfloat16 (the matrix units of recent CPUs and GPUs' tensor cores run it at about
# twice float32's rate: docs/speed.md) and keeps its variables in float32, so the optimiser's state, the
# importances and the penalties stay float32; the heads compute in float32, so the logits and the loss do.
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def network_init(init: str, model: str) -> str:
    """The initialisation a network gets: `init`, or for "auto" the authors' for their own network, the
    MLP, and Glorot's for the CNN and the VAE, which they never had. A fixed sigma of 0.1 does not suit
    every width: on the CNN, whose Dense layer has a fan-in of 3,136, the pruning script ended split
    MNIST's first task at chance (seed 2; 98.35% from Glorot's, tests/test_models.py)."""
    if init != "auto":
        return init
    return "authors" if model == "mlp" else "glorot"


def initializers(init: str) -> dict:
    """Fresh weight and bias initialisers for one layer. "authors": every weight from a normal truncated
    at 2 sigma with sigma 0.1 and every bias 0.1, as in the ANPyC authors' code; "glorot": Keras' default
    (Glorot uniform weights, zero biases); "zeros": all zero, as Zenke et al.'s output layer starts."""
    if init == "authors":
        return dict(kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.1),
                    bias_initializer=keras.initializers.Constant(0.1))
    if init == "zeros":  # pathint, fig_transfer_cifar/train.py:146
        return dict(kernel_initializer="zeros", bias_initializer="zeros")
    if init == "glorot":
        return dict(kernel_initializer=keras.initializers.GlorotUniform(), bias_initializer="zeros")
    raise ValueError(f"unknown initialisation {init!r}")


def dropout(x, rate: float, seed):
    """Inverted dropout from 8-bit random numbers: one stateless draw of a quarter as many 32-bit words
    as x has units (seed: a [2] int tensor, new for every call), about 3 times cheaper on a CPU than a
    float per unit. The rate is rounded to a multiple of 1/256 (0.5 is exact, at most 255/256), and
    kept units are scaled by 1 / (1 - that rate), so the expected output is x."""
    dropped = min(round(rate * 256), 255)
    n = tf.size(x)
    words = tf.random.stateless_uniform([(n + 3) // 4], seed, minval=None, maxval=None, dtype=tf.uint32)
    levels = tf.reshape(tf.bitcast(words, tf.uint8), [-1])[:n]
    keep = tf.reshape(tf.cast(levels >= dropped, x.dtype), tf.shape(x))
    return x * keep * (256.0 / (256 - dropped))


class TaskNetwork(keras.Model):
    """A trunk (`self.trunk`, layers) that every task uses, and one head per task (`self.heads`), or one
    head shared by all tasks (domain- and class-incremental)."""

    # Whether the samples of a batch interact in the forward pass (batch norm on the batch's statistics):
    # per-sample gradients (common/importance.py) then come from the Jacobian, not from each layer's factors.
    batch_coupled = False

    def start_task(self, task: int) -> None:
        """Called by the trainer as task `task` begins, before the method's hooks."""

    def state_variables(self) -> list:
        """Variables that are not the model's own but that a checkpoint must save (an inner optimiser's)."""
        return []

    def report(self) -> dict:
        """Extra entries for summary.json about the network (such as its judge's accuracy)."""
        return {}

    def head(self, task):
        """Task `task`'s head. A tensor `task` (Trainer.score's one graph for every task) gets head 0,
        which that graph runs with the task's own variables in place of its own (`task_variables`)."""
        return self.heads[0 if len(self.heads) == 1 or tf.is_tensor(task) else task]

    def task_variables(self, task: int) -> list:
        """The variables that task `task` alone uses: its head's, or none where all tasks share the head."""
        return [] if len(self.heads) == 1 else self.heads[task].trainable_variables

    def prunable(self, variable) -> bool:
        """Whether pruning (anpyc_wi_np.py) may zero entries of `variable`, one of the trunk's: all of them,
        unless a network says otherwise."""
        return True

    @property
    def trunk_variables(self) -> list:
        return [v for layer in self.trunk for v in layer.trainable_variables]

    @property
    def shared_variables(self) -> list:
        """What all tasks share, and so what consolidation protects: the trunk, plus the head if shared."""
        shared_head = self.heads[0].trainable_variables if len(self.heads) == 1 else []
        return self.trunk_variables + shared_head


class Network(TaskNetwork):
    """A classifier: trunk -> head(task).

    Class-incremental (`per_task`, the classes of one task): one head over every task's classes, of which
    only those of the tasks begun so far are active (van de Ven and Tolias's "active classes"): a softmax,
    an argmax, ANPyC's entropy and EWC's Fisher never reach a class not yet seen. A full-width head keeps
    every shape fixed (one graph, one checkpoint layout) where a growing one would change them each task.
    Task t's label y is class t * per_task + y (split MNIST: the digit; permuted MNIST: 10 t + digit), and
    the output never depends on the task: no task identity at test."""

    def __init__(self, trunk: list, heads: int, classes: int, dropout: float, inputs: int, init: str = "glorot",
                 dropout_layers: list[int] | None = None, per_task: int | None = None, head_init: str | None = None):
        super().__init__(name="network")
        self.per_task = per_task
        self.active = None if per_task is None else tf.Variable(per_task, trainable=False, name="active_classes")
        self.trunk = trunk
        self.heads = [keras.layers.Dense(classes, name=f"head_{t}", dtype="float32", **initializers(head_init or init))
                      for t in range(heads)]
        self.dropout = dropout
        # Dropout follows every hidden Dense layer, or the ones numbered (from 1) in dropout_layers.
        dense = [layer for layer in trunk if isinstance(layer, keras.layers.Dense)]
        self.dropped = {id(layer) for i, layer in enumerate(dense, 1) if dropout_layers is None or i in dropout_layers}
        # The dropout seed's state is a model variable: checkpoints save it, and a resumed run draws on.
        fixed = any(isinstance(layer, keras.layers.Dropout) for layer in trunk)  # a trunk's own dropout layers
        self.dropout_seed = keras.random.SeedGenerator(name="dropout_seed") if dropout > 0 or fixed else None
        self.forward(tf.zeros([1, inputs]), 0)
        for t in range(1, heads):
            self.heads[t](self.features(tf.zeros([1, inputs])))

    @property
    def shared_layers(self) -> list:
        """The weighted layers behind `shared_variables`, in the same order."""
        weighted = [layer for layer in self.trunk if layer.trainable_variables]
        return weighted + (self.heads[:1] if len(self.heads) == 1 else [])

    def start_task(self, task: int) -> None:
        if self.active is not None:
            self.active.assign((task + 1) * self.per_task)

    def active_logits(self, outputs):
        """A head's outputs that count: all of them, or class-incremental, the active classes'."""
        return outputs if self.active is None else outputs[:, : self.active]

    def target(self, y, task: int):
        """Task `task`'s labels as the head numbers its classes."""
        return y if self.active is None else y + task * self.per_task

    def features(self, x, training=False, trace=None):
        for layer in self.trunk:
            if isinstance(layer, keras.layers.Dropout):  # at its own rate, from the model's seeded stream
                x = dropout(x, layer.rate, self.dropout_seed.next()) if training else x
                continue
            inputs = x
            x = layer(x)
            if trace is not None and layer.trainable_variables:
                trace.append((layer, inputs, x))
            if isinstance(layer, keras.layers.Dense | keras.layers.Conv2D):
                x = tf.nn.relu(x)
                if training and self.dropout > 0 and id(layer) in self.dropped:
                    x = dropout(x, self.dropout, self.dropout_seed.next())
        return x

    def forward(self, x, task: int, training=False, trace=None):
        """Logits of `task`'s head for a batch of flat images. `trace`, if a list, receives
        (layer, input, pre-activation output) for every weighted layer on the way."""
        h = self.features(x, training, trace)
        head = self.head(task)
        outputs = head(h)
        if trace is not None:
            trace.append((head, h, outputs))
        return self.active_logits(outputs)

    def call(self, x, task=0, training=False):
        return self.forward(x, task, training)

    def task_loss(self, x, y, task: int, training=False):
        """(mean cross-entropy of `task`'s head, the trunk's features it was computed from)."""
        features = self.features(x, training)
        return cross_entropy(self.target(y, task), self.active_logits(self.head(task)(features))), features

    def entropy(self, x, task: int):
        """I = -sum over the batch and the classes of p log p, p the softmax of `task`'s head: the
        label-free quantity behind ANPyC's importance."""
        return softmax_entropy(self.forward(x, task))

    def fisher_log_likelihood(self, x, logits, seed):
        """Per sample, log p(y|x) with y drawn from the model's own prediction: EWC's true Fisher."""
        return sampled_log_likelihood(logits, seed)

    def score(self, x, y, task: int):
        """Per sample, 100 if `task`'s head classifies it right, else 0 (so the mean is accuracy in %)."""
        predicted = tf.argmax(self.forward(x, task), axis=1, output_type=tf.int32)
        return 100.0 * tf.cast(predicted == self.target(y, task), tf.float32)

    def evaluate(self, trainer, learned: int, validation: bool) -> dict:
        """The rows of this run's result matrices after `learned` tasks: test accuracy (%) on each task
        learned, and validation accuracy if a validation split is held out."""
        rows = {"accuracy": [trainer.score(j) for j in range(learned)]}
        if validation:
            rows["validation_accuracy"] = [trainer.score(j, "validation") for j in range(learned)]
        return rows

    def pictures(self, learned: int) -> dict:
        """Figures for the results folder, by file name, after `learned` tasks (none for a classifier)."""
        return {}


def mlp(hidden: list[int], init: str = "glorot") -> list:
    """Dense layers of the given widths (ReLU, then dropout, after each)."""
    return [keras.layers.Dense(width, name=f"dense_{i}", **initializers(init)) for i, width in enumerate(hidden)]


def cnn(hidden: list[int], shape: tuple[int, int, int], init: str = "glorot") -> list:
    """Two 3x3 convolutions (32 and 64 filters, 2x2 max-pooling after each) of images of `shape` (height,
    width, channels; they arrive as rows), then Dense layers."""
    return [
        keras.layers.Reshape(shape),
        keras.layers.Conv2D(32, 3, name="conv_0", **initializers(init)),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, name="conv_1", **initializers(init)),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        *mlp(hidden, init),
    ]


def zenke(hidden: list[int], shape: tuple[int, int, int], init: str = "glorot") -> list:
    """Zenke et al. 2017's CNN for split CIFAR (pathint, fig_transfer_cifar/train.py:124-146): two blocks
    of two 3x3 convolutions, the first padded ("same") and the second not (32 filters, then 64), each
    block followed by 2x2 max-pooling and dropout 0.25; then Dense layers (theirs: 512, with the run's
    dropout, theirs 0.5)."""
    def block(filters: int, i: int) -> list:
        return [keras.layers.Conv2D(filters, 3, padding="same", name=f"conv_{i}", **initializers(init)),
                keras.layers.Conv2D(filters, 3, name=f"conv_{i + 1}", **initializers(init)),
                keras.layers.MaxPooling2D(), keras.layers.Dropout(0.25)]

    return [keras.layers.Reshape(shape), *block(32, 0), *block(64, 2), keras.layers.Flatten(), *mlp(hidden, init)]


def cross_entropy(labels, logits):
    """Mean softmax cross-entropy of a batch."""
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))


def softmax_entropy(logits):
    """-sum over the batch and the classes of p log p, p = softmax(logits)."""
    log_p = tf.nn.log_softmax(logits)
    return -tf.reduce_sum(tf.exp(log_p) * log_p)


def sampled_log_likelihood(logits, seed):
    """Per sample, log p(y) under softmax(logits), y drawn from that distribution (no gradient through
    the draw): the log-likelihood of EWC's true Fisher."""
    y = tf.stop_gradient(keras.random.categorical(logits, 1, seed=seed)[:, 0])
    return tf.gather(tf.nn.log_softmax(logits), y, batch_dims=1)


@contextlib.contextmanager
def policy(precision: str):
    """Layers made inside compute in `precision`'s dtype policy (POLICIES); the global policy is restored
    after, so that nothing else a process builds (a judge, another run's network) inherits it."""
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(POLICIES[precision])
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)


def build(model: str, hidden: list[int], heads: int, classes: int, dropout: float, shape: tuple[int, int, int],
          init: str = "glorot", dropout_layers: list[int] | None = None, per_task: int | None = None,
          precision: str = "float32") -> Network:
    """The classifier `model` ("mlp", "cnn" or "zenke") of images of `shape` (height, width, channels),
    its trunk computing in `precision` (float32 or bfloat16, POLICIES). Zenke et al.'s heads start
    at zero, as their output layer does."""
    init = network_init(init, model)
    with policy(precision):
        trunk = mlp(hidden, init) if model == "mlp" else {"cnn": cnn, "zenke": zenke}[model](hidden, shape, init)
        return Network(trunk, heads, classes, dropout, int(np.prod(shape)), init, dropout_layers=dropout_layers,
                       per_task=per_task, head_init="zeros" if model == "zenke" else None)
