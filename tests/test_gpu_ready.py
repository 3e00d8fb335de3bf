"""Ready for a GPU, tested on a CPU: every op of the compiled loops has a GPU kernel for its dtypes (as
TensorFlow's own kernel registry says), and --deterministic runs repeat exactly."""
import json
from functools import partial
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import kernels

import anpyc_wi_np
from baselines import ewc, joint, mas, packnet, replay, si
from common import data, importance, training
from common.run import network
from common.training import Trainer
from conftest import QUICK, ROOT, configure

# Kernels registered for every device ("DEFAULT": NoOp, While, Placeholder, ...) run wherever their graph does.
ANY_DEVICE = ("GPU", "DEFAULT")


def gpu_kernel(node) -> bool:
    """Whether some GPU (or device-independent) kernel of node.op accepts node's type attributes."""
    for kernel in kernels.get_registered_kernels_for_op(node.op).kernel:
        if kernel.device_type not in ANY_DEVICE:
            continue
        accepted = True
        for constraint in kernel.constraint:
            attr = node.attr.get(constraint.name)
            if attr is None:
                continue
            types = list(attr.list.type) if attr.HasField("list") else [attr.type]
            accepted &= all(t in constraint.allowed_values.list.type for t in types)
        if accepted:
            return True
    return False


def without_gpu_kernel(concrete_function) -> set:
    """(op, its dtypes) of every node, nested functions included, with no GPU kernel for them."""
    graph = concrete_function.graph.as_graph_def()
    nodes = [*graph.node, *(node for function in graph.library.function for node in function.node_def)]
    return {(node.op, tuple(sorted(f"{k}={tf.dtypes.as_dtype(v.type).name}" for k, v in node.attr.items() if v.type)))
            for node in nodes if not gpu_kernel(node)}


def traced(trainer, task, fns) -> dict:
    """The concrete functions that a task's training, evaluation and importance means run."""
    epoch = trainer._epoch_fn(task)
    order = tf.range(trainer.data[task].size, dtype=tf.int32)
    functions = {"epoch": epoch.func.get_concrete_function(order, **epoch.keywords)}
    data = trainer.data[task]
    functions["evaluation"] = trainer._evaluate.get_concrete_function(
        *data.splits["test"], data.permutation, tf.constant(task), trainer.model.task_variables(task))
    for name, fn in fns.items():
        trainer.task_mean(fn, task, 100, per_sample=True)
        mean = trainer._mean_fns[next(key for key in trainer._mean_fns if key[0] is fn)]
        functions[name] = mean.func.get_concrete_function(*mean.args)
    return functions


@pytest.fixture(autouse=True)
def as_on_a_gpu(monkeypatch, request):
    """The loops as a GPU builds them: images held as float32 (a CPU holds uint8)."""
    if "uint8" not in request.node.name:
        monkeypatch.setattr(training, "held_dtype", lambda: tf.float32)


def test_images_held_as_uint8_give_the_same_batches_as_float32(monkeypatch):
    tasks = data.make_benchmark("permuted", 2, 0, subset=300)
    indices = tf.constant([5, 0, 299, 17])
    held = {}
    for dtype in (tf.uint8, tf.float32):
        monkeypatch.setattr(training, "held_dtype", lambda dtype=dtype: dtype)
        task = training.TaskData(tasks[1], {})
        assert task.splits["train"][0].dtype == dtype
        rows = task.training_set()[0]
        held[dtype.name] = (task.batch(indices)[0], training.pixels(tf.gather(rows, indices)))
    for a, b in zip(held["uint8"], held["float32"]):
        assert a.dtype == b.dtype == tf.float32 and np.array_equal(a.numpy(), b.numpy())


def test_the_registry_knows_a_missing_gpu_kernel():
    graph = tf.function(lambda x: tf.gather(x, [0])).get_concrete_function(tf.TensorSpec([3], tf.uint8))
    assert ("GatherV2", ("Taxis=int32", "Tindices=int32", "Tparams=uint8")) in without_gpu_kernel(graph)


@pytest.mark.parametrize("model, precision", [("mlp", "float32"), ("cnn", "float32"), ("mlp", "bfloat16"), ("cnn", "bfloat16")])
def test_every_op_of_the_compiled_loops_has_a_gpu_kernel(model, precision, tmp_path):
    # ANPyC with pruning and dropout (masks, the proximal step), SI, joint (replay of an earlier task),
    # EWC's Fisher and MAS's per-sample importance, with Adam and with SGD
    tasks = data.make_benchmark("permuted", 2, 0, subset=200)
    missing = {}
    for script, method_cls, argv in ((anpyc_wi_np, anpyc_wi_np.PrunedANPyC, ["--dropout", "0.5"]),
                                     (si, si.SI, ["--optimizer", "adam"]), (joint, joint.Joint, []),
                                     (ewc, ewc.EWC, ["--optimizer", "adam"]), (mas, mas.MAS, []),
                                     (packnet, packnet.PackNet, ["--optimizer", "adam"]),
                                     (replay, replay.Replay, ["--scenario", "class"])):
        config = configure(script, "--tasks", "2", "--model", model, "--hidden", "16", "--precision", precision, *argv,
                           out=tmp_path)
        trainer = Trainer(network(config, tasks), tasks, method_cls(config), config, log=lambda *_: None)
        trainer.method.after_task(trainer, 0) if method_cls is not anpyc_wi_np.PrunedANPyC else None
        trainer.method.before_task(trainer, 1)
        fisher = partial(importance.fisher_batch, seed=keras.random.SeedGenerator(1))
        for name, function in traced(trainer, 1, {"fisher": fisher, "mas": importance.mas_batch}).items():
            for op in without_gpu_kernel(function):
                missing.setdefault(op, set()).add(f"{script.__name__} {name}")
    assert not missing, missing


def test_deterministic_runs_repeat_exactly(tmp_path):
    argv = ["anpyc_wo_np.py", *QUICK, "--tasks", "2", "--epochs", "2", "--train-subset", "300", "--dropout", "0.5",
            "--deterministic"]
    for name in ("a", "b"):
        subprocess.run([sys.executable, *argv, "--out", str(tmp_path / name)], cwd=ROOT, check=True, capture_output=True)
    assert (tmp_path / "a" / "accuracy.csv").read_text() == (tmp_path / "b" / "accuracy.csv").read_text()
    assert json.loads((tmp_path / "a" / "config.json").read_text())["deterministic"] is True
    matrix = np.loadtxt(tmp_path / "a" / "accuracy.csv", delimiter=",", skiprows=1, usecols=1)
    assert matrix[0] > 50


def test_the_gans_critic_and_generator_steps_have_gpu_kernels(tmp_path):
    # WGAN-GP's critic step (a gradient of a gradient) and generative replay's frozen generator
    from baselines import generative_replay

    tasks = data.make_benchmark("classes", 2, 0, subset=200)
    config = configure(generative_replay, "--tasks", "2", "--hidden", "16", "--latent", "4", out=tmp_path)
    trainer = Trainer(network(config, tasks), tasks, generative_replay.GenerativeReplay(config), config, log=lambda *_: None)
    trainer.method.after_task(trainer, 0)
    epoch = trainer._epoch_fn(1)
    order = tf.range(trainer.data[1].size, dtype=tf.int32)
    missing = without_gpu_kernel(epoch.func.get_concrete_function(order, **epoch.keywords))
    assert not missing, missing
