"""Importance of each shared parameter for a task: ANPyC's structure-aware measure, EWC's diagonal
Fisher and MAS. Each `*_batch` function maps (model, task, x) to one tensor per shared variable and
is averaged over a task with `Trainer.task_mean`; the training scripts and
cal_importance_distribution.py use these same functions.

EWC and MAS need per-sample gradients. For a weighted layer z = a W + b, the gradient of sample n's
loss is a_n^T d_n (d_n = dLoss_n/dz_n), a rank-one product. So sum_n (a_n^T d_n)^2 = (a^2)^T (d^2)
and sum_n |a_n^T d_n| = |a|^T |d|: one matrix product for the whole batch, with no per-sample tensor
ever built. A convolution's per-sample gradient is built from image patches with one einsum. A network
whose batch norms use the batch's own statistics (MeRGAN's) couples its samples: there each sample's
gradient is a row of the Jacobian of the per-sample losses, computed whole (vectorised).
"""
import keras
import tensorflow as tf


def anpyc_batch(model, task, x, clip=True):
    """ANPyC, for one batch: Omega_b = max(0, g*theta + 0.5*theta^2*g^2), g = dI/dtheta, where I is
    the entropy of the model's output distribution for the batch (`model.entropy`: a classifier's softmax,
    a VAE's Bernoulli pixels). clip=False leaves out the max(0, .) (the authors' importance analysis
    clips after averaging)."""
    variables = model.shared_variables
    with tf.GradientTape() as tape:
        entropy = model.entropy(x, task)
    grads = tape.gradient(entropy, variables)
    omega = [g * v + 0.5 * tf.square(v) * tf.square(g) for g, v in zip(grads, variables)]
    return [tf.nn.relu(o) for o in omega] if clip else omega


def mas_softmax_batch(model, task, x):
    """MAS as the ANPyC authors computed it, for one batch: |d/dtheta of 0.5 * ||softmax||^2 summed over
    the batch| (one gradient of the whole batch, then its absolute value)."""
    variables = model.shared_variables
    with tf.GradientTape() as tape:
        norm = 0.5 * tf.reduce_sum(tf.square(tf.nn.softmax(model.forward(x, task))))
    return [tf.abs(g) for g in tape.gradient(norm, variables)]


def _per_sample(model, task, x, loss_fn, reduce):
    """sum over the batch of reduce(per-sample gradient of loss_fn(logits)), per shared variable.
    loss_fn returns one value per sample; reduce is tf.square or tf.abs (applied to both factors of
    each rank-one gradient, which is exact for these two). Where the samples of a batch interact
    (`model.batch_coupled`), a sample's gradient is no such product: it is a row of the Jacobian."""
    if model.batch_coupled:
        with tf.GradientTape() as tape:
            losses = loss_fn(model.forward(x, task))
        return [tf.reduce_sum(reduce(rows), 0) for rows in tape.jacobian(losses, model.shared_variables)]
    trace = []
    with tf.GradientTape() as tape:
        logits = model.forward(x, task, trace=trace)
        loss = tf.reduce_sum(loss_fn(logits))
    position = {id(layer): i for i, layer in enumerate(model.shared_layers)}  # the order of shared_variables
    trace = sorted((entry for entry in trace if id(entry[0]) in position), key=lambda entry: position[id(entry[0])])
    upstream = tape.gradient(loss, [output for _, _, output in trace])
    result = []
    for (layer, inputs, _), d in zip(trace, upstream):
        inputs, d = tf.cast(inputs, tf.float32), tf.cast(d, tf.float32)  # a bfloat16 trunk's factors: summed in float32
        if isinstance(layer, keras.layers.Conv2D):
            kh, kw = layer.kernel_size
            patches = tf.image.extract_patches(inputs, [1, kh, kw, 1], [1, 1, 1, 1], [1, 1, 1, 1], layer.padding.upper())
            kernel = tf.einsum("bhwp,bhwc->bpc", patches, d)
            result += [tf.reshape(tf.reduce_sum(reduce(kernel), 0), layer.kernel.shape),
                       tf.reduce_sum(reduce(tf.reduce_sum(d, [1, 2])), 0)]
        else:
            result += [tf.matmul(reduce(inputs), reduce(d), transpose_a=True), tf.reduce_sum(reduce(d), 0)]
    return result


def fisher_batch(model, task, x, seed):
    """EWC's diagonal Fisher, summed over the batch: squared per-sample gradients of the model's
    `fisher_log_likelihood` (a classifier's log p(y|x) with y drawn from its own prediction, the true
    Fisher; a VAE's log p(x|z))."""
    return _per_sample(model, task, x, lambda outputs: model.fisher_log_likelihood(x, outputs, seed), tf.square)


def mas_batch(model, task, x):
    """MAS, summed over the batch: absolute per-sample gradients of the squared L2 norm of the output."""
    return _per_sample(model, task, x, lambda logits: tf.reduce_sum(tf.square(logits), 1), tf.abs)
