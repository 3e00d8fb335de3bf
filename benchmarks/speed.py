"""Speed and memory benchmark: prints a table of seconds and of the ratios that the targets name.

    python benchmarks/speed.py            # the default MLP (784-512-256, batch 256) and the CNN
    python benchmarks/speed.py --tiny     # a few steps of each, only to prove that it runs

Rows: (a) one epoch of 60,000 images through keras `model.fit` on the same network, (b) one epoch of
our fine-tuning step, (c) of ANPyC's step with the consolidation penalty, (d) of the pruning script's
retraining step (masked gradients), (e) ANPyC's importance over a task, (f) EWC's Fisher and MAS's
importance over a task, (g) an epoch of SI (its per-step path integral); (h) resident memory after
task 10 and after the last task of a run that learns all of a 100-task permuted sequence on the pruning
script's network (784-64-32; an epoch of 256 images each, every task tested after each task), for both
ANPyC scripts, EWC, SI and PackNet (`--only h`; about 3 minutes a method); (j)
the TensorBoard summaries a run writes after each epoch; (k) the time per step of fine-tuning, SI and
EWC on the published split-MNIST protocol vdv2019-split (MLP 400-400, Adam, batch 128), on a task
that has the penalty; (l) what --deterministic (TensorFlow's op determinism) costs an ANPyC epoch
with dropout, each in a fresh process, since determinism cannot be turned off once on; (m) the time
per step on hsu2018-split's fifth task of fine-tuning and ANPyC in the task- and class-incremental
scenarios, and of replay with its memory batch (`--only m` runs this row alone); (n) the peak resident
memory of a whole fine-tuning run on van de Ven and Tolias' split MNIST (`--protocol vdv2019-split`), in a
fresh process (`--only n`); (o) the time of one step of Memory Replay GANs' protocol (5 critic steps and a
generator step, fine-tuning on the first digit), on their convolutional networks and on the MLP form,
and what the 40,000 steps of a 10-digit run take at that pace (`--only o`); (p) the time of one step of
Zenke et al.'s split CIFAR (`--protocol zenke2017-split-cifar`, their CNN, batch 256) for fine-tuning and
SI, on random images of CIFAR's shape (there is no CIFAR here; a step's time does not depend on the
pixels' values), and what the 17,760 steps of a run take at that pace (`--only p`); (q) rows (b)-(g) in float32 and in
bfloat16 (`--precision bfloat16`: the layers compute in bfloat16, the variables stay float32), on the MLP
and the CNN (`--only q`); (r) the time per step on the pruning script's network (784-64-32, batch 256,
dropout 0.5) of a bare loop (plain SGD, no dropout), of that loop with our uint8 images and then our dropout
too, of fine-tuning, ANPyC and ANPyC with pruning (`--only r`); (s) two runs at once, as `compare.py --jobs 2`
makes them, each with TensorFlow's default threads (one per core) or with its share of the cores, on
the pruning script's MLP, the default MLP and van de Ven and Tolias' 784-1000-1000: seconds a task, the
kernel's share of the CPU time, and how far seed 0's accuracy and weights move between the settings
(`--only s`).
Each time is the best of `--repeats` calls after a first, tracing call, and the rows' calls take turns;
but in (s), one run of each setting, the default first, tracing included.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from types import SimpleNamespace

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "baselines")]

import compare  # noqa: E402
from common import cli, consolidation, data, importance, models, protocols, training  # noqa: E402
from common.method import Method  # noqa: E402
from common.provenance import cores  # noqa: E402
from common.run import device_name, network, resident_mb, run  # noqa: E402
from common.runner import THREADS, threads_each  # noqa: E402
from common.summaries import Summaries  # noqa: E402
from common.training import Trainer  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from anpyc_wi_np import PrunedANPyC  # noqa: E402
from anpyc_wo_np import ANPyC  # noqa: E402
from si import SI  # noqa: E402
import anpyc_wo_np  # noqa: E402
import ewc  # noqa: E402
import finetuning  # noqa: E402
import replay  # noqa: E402
import si  # noqa: E402


def config(**overrides):
    values = protocols.AUTHORS | consolidation.HPARAMS | dict(hidden=[512, 256], tasks=2, lamb=3.0, accumulate="max", importance_batch=100,
                                      prune_percent=50, prune_decay=0.8, prune_step=10, retrain_epochs=1,
                                      c=0.1, xi=0.1, fisher_batch=100, fisher_samples=None)
    return SimpleNamespace(**(values | overrides))


def best_times(calls: dict, repeats: int) -> dict:
    """The best of `repeats` timed calls of each of `calls` after a first, tracing call. The calls take
    turns (one round of all of them, then the next), so a machine that slows down or speeds up
    mid-benchmark moves every row alike and the ratios between rows stay fair."""
    for fn in calls.values():
        fn()
    times = {key: [] for key in calls}
    for _ in range(repeats):
        for key, fn in calls.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    return {key: min(values) for key, values in times.items()}


def trainer_for(method_cls, cfg, tasks):
    keras.utils.set_random_seed(0)
    model = models.build(cfg.model, cfg.hidden, len(tasks), tasks[0].classes, cfg.dropout, tasks[0].shape, cfg.init,
                         precision=cfg.precision)
    trainer = Trainer(model, tasks, method_cls(cfg), cfg, log=lambda *_: None)
    trainer.method.before_task(trainer, 0)
    return trainer


def trainer_on_second_task(method_cls, cfg, tasks):
    """A trainer that has taken task 0's importance (traced too) and starts task 1, so that its step
    carries the method's penalty."""
    trainer = trainer_for(method_cls, cfg, tasks)
    trainer.method.after_task(trainer, 0)
    trainer.method.before_task(trainer, 1)
    return trainer


def half_prune(masks):
    """Keep a random half of each weight: the masked step then does the work of a pruned network."""
    masks.set([np.random.default_rng(0).random(v.shape) < 0.5 for v in masks.variables])


def keras_fit_epoch(cfg, task):
    """(a): what a user would write with model.fit on the same network and data."""
    x = (task.train.images[:, task.permutation].astype(np.float32) / 255.0)
    if cfg.model == "cnn":
        x = x.reshape(-1, *task.shape)
    layers = [keras.Input(x.shape[1:])]
    if cfg.model == "cnn":
        layers += [keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(),
                   keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.MaxPooling2D(), keras.layers.Flatten()]
    for width in cfg.hidden:
        layers += [keras.layers.Dense(width, activation="relu"), keras.layers.Dropout(cfg.dropout)]
    model = keras.Sequential(layers + [keras.layers.Dense(task.classes)])
    model.compile(keras.optimizers.SGD(cfg.lr), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return lambda: model.fit(x, task.train.labels, batch_size=cfg.batch_size, epochs=1, verbose=0)


def method_calls(cfg, tasks) -> dict:
    """(b)-(g) on task 1 of `tasks`: an epoch of fine-tuning, of ANPyC with its penalty, of the pruning
    script's masked retraining and of SI; ANPyC's, EWC's and MAS's importance over the task."""
    calls = {}
    plain = trainer_for(Method, cfg, tasks)
    calls["b"] = lambda: plain.train(1, 1)

    anpyc = trainer_on_second_task(ANPyC, cfg, tasks)
    calls["c"] = lambda: anpyc.train(1, 1)
    calls["e"] = lambda: anpyc.method.task_importance(anpyc, 1)

    pruned = trainer_for(PrunedANPyC, cfg, tasks)
    half_prune(pruned.method.masks)
    calls["d"] = lambda: pruned.train(1, 1)

    seed = keras.random.SeedGenerator(0)
    calls["f_ewc"] = lambda: plain.task_mean(partial(importance.fisher_batch, seed=seed), 1, 100, True)
    calls["f_mas"] = lambda: plain.task_mean(importance.mas_batch, 1, 100, True)

    si = trainer_for(SI, cfg, tasks)
    calls["g"] = lambda: si.train(1, 1)
    return calls


def measure(cfg, tasks, repeats):
    calls = {"a": keras_fit_epoch(cfg, tasks[1])} | method_calls(cfg, tasks)
    summaries = Summaries(tempfile.mkdtemp())  # what a run writes to TensorBoard after each epoch
    calls["j"] = lambda: [summaries.scalars(i, {"train/loss": 0.5, "train/lr": 0.1}) for i in range(100)]
    times = best_times(calls, repeats)
    times["j"] /= 100
    return times


ROWS = [("a", "keras model.fit, one epoch"), ("b", "our fine-tuning epoch"), ("c", "ANPyC epoch (penalty)"),
        ("d", "ANPyC retraining epoch (masks)"), ("e", "ANPyC importance over the task"),
        ("f_ewc", "EWC Fisher over the task"), ("f_mas", "MAS importance over the task"), ("g", "SI epoch"),
        ("j", "TensorBoard summaries of one epoch")]
# (q): the bfloat16 epoch against float32's (issue 51's targets).
PRECISION_TARGETS = {"mlp": 0.6, "cnn": 0.65}


def matmul_gflops(dtype, repeats, products=1000) -> float:
    """(q): GFLOP/s of the default MLP's forward matrix products (MNIST's pixels, then 512 and 256 units)
    at its batch of 256 in `dtype`, `products` of them in one tf.function (what bfloat16 can speed up,
    without the rest of a step)."""
    cfg = config()
    batch, pixels, (first, second) = cfg.batch_size, int(np.prod(data.DATASETS["mnist"].shape)), cfg.hidden
    rng = tf.random.Generator.from_seed(0)
    x, w1, w2 = (tf.cast(rng.uniform(shape), dtype) for shape in ([batch, pixels], [pixels, first], [first, second]))

    @tf.function
    def forward():
        total = tf.zeros([], dtype)
        for _ in tf.range(products):
            total += tf.matmul(tf.matmul(x, w1), w2)[0, 0]
        return total

    seconds = best_times({"forward": lambda: forward().numpy()}, repeats)["forward"]
    return 2 * batch * (pixels * first + first * second) * products / seconds / 1e9


def print_precision(model_names, tasks, repeats, products=1000):
    """(q): the matrix products' rate, then rows (b)-(g) in float32 and in bfloat16 (--precision), taking
    turns, on each model."""
    rates = {dtype.name: matmul_gflops(dtype, repeats, products) for dtype in (tf.float32, tf.bfloat16)}
    print(f"\n(q) the MLP's forward matrix products (784-512-256, batch 256), on {device_name()}: "
          + ", ".join(f"{name} {rate:.0f} GFLOP/s" for name, rate in rates.items()))
    for model in model_names:
        calls = {(precision, key): fn for precision in models.POLICIES
                 for key, fn in method_calls(config(model=model, precision=precision), tasks).items()}
        times = best_times(calls, repeats)
        print(f"\n(q) {model} {config(model=model).hidden}, batch 256: float32 against bfloat16, seconds, on {device_name()}\n"
              "| measurement | float32 | bfloat16 | bfloat16 / float32 | target |\n|---|---|---|---|---|")
        for key, label in ROWS[1:-1]:
            ratio = times["bfloat16", key] / times["float32", key]
            target = (f"<= {PRECISION_TARGETS[model]} {'met' if ratio <= PRECISION_TARGETS[model] else 'MISSED'}"
                      if key == "b" else "")
            print(f"| ({key[0]}) {label} | {times['float32', key]:.2f} | {times['bfloat16', key]:.2f} | {ratio:.2f} | {target} |")


def published_steps(repeats, subset):
    """(k): milliseconds per step of fine-tuning, SI and EWC on vdv2019-split's second task."""
    tasks = data.make_benchmark("split", 2, 0, subset=subset)
    calls, steps = {}, {}
    for key, script, method_cls in (("finetuning", finetuning, Method), ("SI", si, SI), ("EWC", ewc, ewc.EWC)):
        cfg = cli.parse(script.HPARAMS, getattr(script, "FLAGS", {}), "", ["--protocol", "vdv2019-split"])
        trainer = trainer_on_second_task(method_cls, cfg, tasks)
        steps[key] = -(-trainer.data[1].size // cfg.batch_size)
        calls[key] = partial(trainer.train, 1, 1)
    return {key: seconds / steps[key] * 1000 for key, seconds in best_times(calls, repeats).items()}


def scenario_steps(repeats, subset):
    """(m): milliseconds per step on hsu2018-split's fifth task (the longest memory batch), after the
    importance of task 1 (so that ANPyC's step has its penalty)."""
    tasks = data.make_benchmark("split", 5, 0, subset=subset)
    calls, steps = {}, {}
    for key, script, method_cls, scenario in (
            ("fine-tuning, task", finetuning, Method, "task"), ("fine-tuning, class", finetuning, Method, "class"),
            ("ANPyC, task", anpyc_wo_np, ANPyC, "task"), ("ANPyC, class", anpyc_wo_np, ANPyC, "class"),
            ("replay, class", replay, replay.Replay, "class")):
        cfg = cli.parse(script.HPARAMS, getattr(script, "FLAGS", {}), "", ["--protocol", "hsu2018-split", "--scenario", scenario])
        keras.utils.set_random_seed(0)
        trainer = Trainer(network(cfg, tasks), tasks, method_cls(cfg), cfg, log=lambda *_: None)
        trainer.model.start_task(0)
        trainer.method.before_task(trainer, 0)
        trainer.method.after_task(trainer, 0)
        trainer.model.start_task(4)
        trainer.method.before_task(trainer, 4)
        steps[key] = -(-trainer.data[4].size // cfg.batch_size)
        calls[key] = partial(trainer.train, 4, 1)
    return {key: seconds / steps[key] * 1000 for key, seconds in best_times(calls, repeats).items()}


def print_scenario_steps(repeats, subset):
    steps = scenario_steps(repeats, subset)
    print("\n(m) hsu2018-split, fifth task, per step\n| method, scenario | ms | ratio | target |\n|---|---|---|---|")
    for key, reference, target in (("fine-tuning, task", None, None), ("fine-tuning, class", "fine-tuning, task", 1.1),
                                   ("ANPyC, task", None, None), ("ANPyC, class", "ANPyC, task", 1.1),
                                   ("replay, class", "fine-tuning, class", 2.0)):
        ratio = "" if reference is None else f"{steps[key] / steps[reference]:.2f} of {reference}"
        met = "" if target is None else f"<= {target} {'met' if steps[key] / steps[reference] <= target else 'MISSED'}"
        print(f"| {key} | {steps[key]:.2f} | {ratio} | {met} |")


def bare_epoch(tasks, cfg, uint8=False, dropout=0.0):
    """(r): the loop that the small network's step is judged against, as issue 51 timed it: plain SGD on
    Keras Dense layers, no dropout, task 1's images held as float32 in [0, 1], a tf.function over the epoch.
    With `uint8` the images are held as our loop holds them on a CPU (uint8, scaled per batch by
    training.pixels), and with `dropout` our dropout (models.dropout) follows each hidden layer: the
    steps from the bare loop to ours, one at a time."""
    task = tasks[1]
    held = task.train.images[:, task.permutation]
    images = tf.constant(held if uint8 else held.astype(np.float32) / 255.0)
    labels = tf.constant(task.train.labels.astype(np.int32))
    keras.utils.set_random_seed(0)
    hidden = [keras.layers.Dense(width, activation="relu") for width in cfg.hidden]
    network = keras.Sequential([keras.Input((held.shape[1],)), *hidden, keras.layers.Dense(task.classes)])
    sgd = keras.optimizers.SGD(cfg.lr)
    sgd.build(network.trainable_variables)
    seed = keras.random.SeedGenerator(0)

    def forward(x):
        for layer in network.layers[:-1]:
            x = layer(x)
            x = models.dropout(x, dropout, seed.next()) if dropout else x
        return network.layers[-1](x)

    @tf.function
    def epoch(order):
        for i in tf.range(-(-tf.size(order) // cfg.batch_size)):
            indices = order[i * cfg.batch_size : (i + 1) * cfg.batch_size]
            with tf.GradientTape() as tape:
                logits = forward(training.pixels(tf.gather(images, indices)))
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.gather(labels, indices), logits))
            sgd.apply(tape.gradient(loss, network.trainable_variables), network.trainable_variables)

    order = tf.constant(np.random.default_rng(0).permutation(len(task.train.labels)), tf.int32)
    return lambda: epoch(order)


BARE = "bare loop (SGD, no dropout)"


def small_steps(repeats, subset) -> dict:
    """(r): milliseconds per step on the pruning script's network (784-64-32, batch 256, lr 0.02, dropout
    0.5), task 2 of permuted MNIST: the bare loop, then with uint8 images, then with dropout too, then
    fine-tuning in our loop, ANPyC with its penalty, and ANPyC with pruning (penalty and masks)."""
    tasks = data.make_benchmark("permuted", 2, 0, subset=subset)
    cfg = config(hidden=[64, 32], lr=0.02)
    plain = trainer_for(Method, cfg, tasks)
    calls = {BARE: bare_epoch(tasks, cfg), "+ uint8 images, scaled per batch": bare_epoch(tasks, cfg, uint8=True),
             "+ dropout 0.5": bare_epoch(tasks, cfg, uint8=True, dropout=cfg.dropout),
             "fine-tuning (our loop)": partial(plain.train, 1, 1)}
    for key, method_cls in (("ANPyC (penalty)", ANPyC), ("ANPyC with pruning (penalty, masks)", PrunedANPyC)):
        trainer = trainer_on_second_task(method_cls, cfg, tasks)
        if method_cls is PrunedANPyC:
            half_prune(trainer.method.masks)
        calls[key] = partial(trainer.train, 1, 1)
    steps = -(-len(tasks[1].train.labels) // cfg.batch_size)
    return {key: seconds / steps * 1000 for key, seconds in best_times(calls, repeats).items()}


# (r): issue 51 timed the bare loop at 0.49 ms and set ANPyC with pruning at most 0.8 ms, on its own machine;
# the target here is that margin over the bare loop of the same run.
SMALL_MARGIN_MS = 0.31


def print_small_steps(repeats, subset):
    steps = small_steps(repeats, subset)
    bare = steps[BARE]
    print(f"\n(r) the pruning script's network (784-64-32, batch 256, dropout 0.5), per step, on {device_name()}\n"
          "| step | ms | over the bare loop | target |\n|---|---|---|---|")
    for key, ms in steps.items():
        met = (f"<= {SMALL_MARGIN_MS} ms over {'met' if ms - bare <= SMALL_MARGIN_MS else 'MISSED'}"
               if key.startswith("ANPyC with pruning") else "")
        print(f"| {key} | {ms:.3f} | {ms - bare:+.3f} | {met} |")


SHARED_CORES_RUNS = {  # (s): the network: a script on it, and its length (--tiny: the first, one task of 512 images)
    "MLP 784-64-32": (["anpyc_wi_np.py", "--tasks", "2"], ["--epochs", "4", "--retrain-epochs", "2"],
                      ["--tasks", "1", "--epochs", "1", "--retrain-epochs", "1"]),
    "MLP 784-512-256": (["anpyc_wo_np.py", "--tasks", "2"], ["--epochs", "5"], ["--tasks", "1", "--epochs", "1"]),
    "MLP 784-1000-1000": (["baselines/si.py", "--protocol", "vdv2019-permuted", "--scenario", "domain", "--tasks", "2"],
                          ["--iters", "600"], ["--tasks", "1", "--iters", "8"]),
}


def shared_core_runs(tiny: bool) -> dict:
    """(s): per network and setting (TensorFlow's default threads, or each run's share of the cores:
    common/runner.py), two runs made at once (seeds 0 and 1): the mean seconds a task, the share of their
    CPU time spent in the kernel (where threads that wait on one another spin and switch), and seed 0's
    final average accuracy and model weights, which the other setting's are compared with."""
    default = {name: value for name, value in os.environ.items() if name not in THREADS}
    settings = {"default": default, "shared": default | dict.fromkeys(THREADS, str(threads_each(2)))}
    results = {}
    for network_name, (argv, length, tiny_length) in list(SHARED_CORES_RUNS.items())[:1 if tiny else None]:
        argv = argv + (["--train-subset", "512", *tiny_length] if tiny else length)
        measured = {}
        with tempfile.TemporaryDirectory() as folder:
            for setting, env in settings.items():
                runs = [subprocess.Popen([sys.executable, *argv, "--seed", str(seed), "--out", f"{folder}/{setting}{seed}"],
                                         cwd=compare.ROOT, env=env, stdout=subprocess.DEVNULL) for seed in (0, 1)]
                usages = [os.wait4(run.pid, 0) for run in runs]  # (pid, status, resource usage)
                if any(status for _, status, _ in usages):
                    raise SystemExit(f"(s): {argv[0]} failed")
                kernel = sum(usage.ru_stime for *_, usage in usages) / sum(u.ru_stime + u.ru_utime for *_, u in usages)
                summaries = [json.loads(Path(f"{folder}/{setting}{seed}/summary.json").read_text()) for seed in (0, 1)]
                with np.load(f"{folder}/{setting}0/checkpoint.npz") as checkpoint:
                    weights = {name: checkpoint[name] for name in checkpoint.files if name.startswith("model/")}
                measured[setting] = {"seconds": float(np.mean([t for summary in summaries for t in summary["task_seconds"]])),
                                     "kernel": kernel, "accuracy": summaries[0]["final_avg_accuracy"], "weights": weights}
        default_run, shared_run = measured["default"], measured["shared"]
        difference = max(float(np.max(np.abs(default_run["weights"][name] - shared_run["weights"][name])))
                         for name in default_run["weights"])
        results[network_name] = (default_run, shared_run, difference)
    return results


def print_shared_core_runs(tiny: bool):
    print(f"\n(s) two runs at once on {cores()} cores: seconds a task (mean of both runs' tasks), the kernel's share "
          "of their CPU time, and seed 0's final average accuracy and weights, with TensorFlow's default (one thread "
          "per core in each run) and with each run's share of the cores\n"
          "| network | seconds, default | seconds, share | share / default | kernel, default | kernel, share | "
          "seed 0's accuracy (%), default / share | seed 0's largest weight difference |\n|---|---|---|---|---|---|---|---|")
    for network_name, (default, shared, difference) in shared_core_runs(tiny).items():
        print(f"| {network_name} | {default['seconds']:.2f} | {shared['seconds']:.2f} | "
              f"{shared['seconds'] / default['seconds']:.2f} | {default['kernel']:.0%} | {shared['kernel']:.0%} | "
              f"{default['accuracy']:.2f} / {shared['accuracy']:.2f} | {difference:.1e} |")


MEMORY_METHODS = ("anpyc_wi_np", "anpyc_wo_np", "ewc", "si", "packnet")


def memory_growth_mb(method: str, tasks: int) -> tuple[float, float]:
    """(h), in a fresh process: resident MB after task 10 (or the first, with fewer tasks) and after the
    last task of `method` learning `tasks` permuted tasks."""
    argv = [sys.executable, __file__, "--memory-probe", method, "--tasks", str(tasks)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    early, last = out.strip().splitlines()[-1].split()
    return float(early), float(last)


def epoch_seconds(deterministic: bool, repeats: int, subset) -> float:
    """(l), in a fresh process: the best of `repeats` ANPyC epochs (with the penalty and dropout 0.5)."""
    argv = [sys.executable, __file__, "--epoch-probe", "deterministic" if deterministic else "default",
            "--repeats", str(repeats)] + (["--subset", str(subset)] if subset else [])
    return float(subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])


def epoch_probe(mode, repeats, subset):
    if mode == "deterministic":
        tf.config.experimental.enable_op_determinism()
    anpyc = trainer_on_second_task(ANPyC, config(), data.make_benchmark("permuted", 2, 0, subset=subset))
    print(best_times({"c": lambda: anpyc.train(1, 1)}, repeats)["c"])


def memory_probe(method: str, tasks: int):
    """The whole run of `method` (common/run.py, as its script makes it) on `tasks` permuted tasks of the
    pruning script's protocol, an epoch of 256 images per task and one retraining epoch; prints the
    resident MB after task min(10, tasks) and after the last."""
    module = compare.script(method)
    retrain = ["--retrain-epochs", "1"] if "retrain_epochs" in getattr(module, "FLAGS", {}) else []
    with tempfile.TemporaryDirectory() as folder:
        argv = ["--protocol", "authors-pruning", "--tasks", str(tasks), "--epochs", "1", "--train-subset", "256",
                *retrain, "--out", folder, "--overwrite"]
        config = cli.parse(module.HPARAMS, getattr(module, "FLAGS", {}), "", argv)
        memory = []
        run(getattr(module, re.search(r"cli\.main\((\w+)", Path(module.__file__).read_text()).group(1)), config,
            log=lambda line, **_: memory.append(resident_mb()) if line.startswith("after task") else None)
    print(f"{memory[min(10, tasks) - 1]:.0f} {memory[-1]:.0f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="a few steps of each measurement, no timing value")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--only", choices=("h", "m", "n", "o", "p", "q", "r", "s"), help="run one row alone")
    parser.add_argument("--peak-probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--iters", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--memory-probe", choices=MEMORY_METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--tasks", type=int, default=100, help=argparse.SUPPRESS)
    parser.add_argument("--epoch-probe", choices=("default", "deterministic"), help=argparse.SUPPRESS)
    parser.add_argument("--subset", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe:
        return memory_probe(args.memory_probe, args.tasks)
    if args.peak_probe:
        return peak_probe(args.iters)
    if args.epoch_probe:
        return epoch_probe(args.epoch_probe, args.repeats, args.subset)
    subset = 512 if args.tiny else None
    repeats = 1 if args.tiny else args.repeats
    if args.only == "m":
        return print_scenario_steps(repeats, subset)
    if args.only == "h":
        return print_memory_growth(2, MEMORY_METHODS[:1]) if args.tiny else print_memory_growth(100)
    if args.only == "n":
        return print_peak(5 if args.tiny else None)
    if args.only == "o":
        return print_mergan_steps(repeats, subset)
    if args.only == "p":
        return print_zenke_steps(repeats, subset)
    if args.only == "r":
        return print_small_steps(repeats, subset)
    if args.only == "s":
        return print_shared_core_runs(args.tiny)
    tasks = data.make_benchmark("permuted", 2, 0, subset=subset)
    if args.only == "q":
        return print_precision(args.models.split(","), tasks, repeats)
    print(f"device: {device_name()}; {len(tasks[0].train.labels)} training images per epoch; best of {repeats}")
    ratios = [("c / a", "c", "a", 0.6), ("c / b", "c", "b", 1.15), ("d / b", "d", "b", 1.15), ("e / b", "e", "b", 1.0),
              ("MAS / b", "f_mas", "b", {"mlp": 1.0, "cnn": 1.15}), ("EWC / b", "f_ewc", "b", 2.0),
              ("g / b", "g", "b", 1.15), ("j / b", "j", "b", 0.02)]
    for model in args.models.split(","):
        cfg = config(model=model)
        times = measure(cfg, tasks, repeats)
        print(f"\n{model} {cfg.hidden}, batch {cfg.batch_size}")
        print("| measurement | seconds |\n|---|---|")
        for key, label in ROWS:
            print(f"| ({key[0]}) {label} | {times[key]:.4f} |" if key == "j" else f"| ({key[0]}) {label} | {times[key]:.2f} |")
        print("\n| ratio | value | target |\n|---|---|---|")
        for label, top, bottom, target in ratios:
            target = target[model] if isinstance(target, dict) else target
            value = times[top] / times[bottom]
            print(f"| {label} | {value:.2f} | <= {target} {'met' if value <= target else 'MISSED'} |")
    steps = published_steps(repeats, subset)
    print("\n(k) vdv2019-split (MLP 400-400, Adam, batch 128), per step\n| method | ms | / fine-tuning | target |\n|---|---|---|---|")
    for key, ms in steps.items():
        ratio = ms / steps["finetuning"]
        target = "" if key == "finetuning" else f"<= 1.15 {'met' if ratio <= 1.15 else 'MISSED'}"
        print(f"| {key} | {ms:.2f} | {ratio:.2f} | {target} |")
    print_scenario_steps(repeats, subset)
    default, deterministic = epoch_seconds(False, repeats, subset), epoch_seconds(True, repeats, subset)
    print(f"\n(l) ANPyC epoch (dropout 0.5): {default:.2f} s, with --deterministic {deterministic:.2f} s "
          f"(x{deterministic / default:.2f}; measured on {device_name()})")
    print_memory_growth(2, MEMORY_METHODS[:1]) if args.tiny else print_memory_growth(100)
    print_peak(5 if args.tiny else None)
    print_mergan_steps(repeats, subset)
    print_zenke_steps(repeats, subset)
    print_small_steps(repeats, subset)
    print_shared_core_runs(args.tiny)
    print_precision(args.models.split(",")[:1] if args.tiny else args.models.split(","), tasks, repeats,
                    10 if args.tiny else 1000)  # tiny: the MLP (the tests build the CNN in bfloat16 too)


def mergan_steps(repeats, subset) -> dict:
    """(o): seconds per generator step (with its 5 critic steps) of fine-tuning on the first digit, by
    protocol: an epoch of the digit, divided by its steps."""
    module = compare.script("finetuning")
    tasks = data.make_benchmark("classes", 1, 0, subset=subset)
    calls, steps = {}, {}
    for protocol in ("mergan", "mergan-mlp"):
        cfg = cli.parse(module.HPARAMS, {}, "", ["--protocol", protocol])
        keras.utils.set_random_seed(0)
        trainer = Trainer(network(cfg, tasks), tasks, Method(cfg), cfg, log=lambda *_: None)
        steps[protocol] = -(-trainer.data[0].size // cfg.batch_size)
        calls[protocol] = partial(trainer.train, 0, 1)
    return {key: seconds / steps[key] for key, seconds in best_times(calls, repeats).items()}


def print_mergan_steps(repeats, subset):
    seconds = mergan_steps(repeats, subset)
    print(f"\n(o) Memory Replay GANs' protocol: one step (5 critic steps, one generator step), fine-tuning, on "
          f"{device_name()}\n| network | seconds a step | hours of 40,000 steps (a 10-digit run) |\n|---|---|---|")
    for protocol, value in seconds.items():
        print(f"| {protocol} | {value:.3f} | {value * 40000 / 3600:.1f} |")


def zenke_steps(repeats, subset) -> dict:
    """(p): seconds per step of an epoch of the first task of Zenke et al.'s split CIFAR, by method, on
    random images (`subset` of them, or CIFAR-10's 50,000)."""
    dataset = data.DATASETS["cifar10_100"]
    rng = np.random.default_rng(0)
    n = subset or 50_000
    images = data.aligned_empty((n, dataset.pixels))
    images[:] = rng.integers(0, 256, images.shape, np.uint8)
    split = data.Split(images, rng.integers(0, 10, n).astype(np.int32))
    tasks = [data.Task(f"random-{t}", split, split, split, classes=10, dataset=dataset.name) for t in range(2)]
    calls, steps = {}, {}
    for name, module, method in (("finetuning", compare.script("finetuning"), Method), ("si", si, SI)):
        cfg = cli.parse(module.HPARAMS, getattr(module, "FLAGS", {}), "", ["--protocol", "zenke2017-split-cifar", "--tasks", "2"]
                        + (["--c", "0.1", "--xi", "0.001"] if name == "si" else []))
        keras.utils.set_random_seed(0)
        trainer = Trainer(network(cfg, tasks), tasks, method(cfg), cfg, log=lambda *_: None)
        trainer.method.before_task(trainer, 0)
        steps[name] = -(-trainer.data[0].size // cfg.batch_size)
        calls[name] = partial(trainer.train, 0, 1)
    return {key: seconds / steps[key] for key, seconds in best_times(calls, repeats).items()}


def print_zenke_steps(repeats, subset):
    seconds = zenke_steps(repeats, subset)
    run_steps = 60 * (-(-50_000 // 256) + 5 * -(-5_000 // 256))  # 60 epochs of CIFAR-10, then of 5,000 images x 5
    print(f"\n(p) Zenke et al.'s split CIFAR: one step (their CNN, batch 256), on {device_name()}\n"
          f"| method | seconds a step | hours of a run's {run_steps:,} steps |\n|---|---|---|")
    for method, value in seconds.items():
        print(f"| {method} | {value:.3f} | {value * run_steps / 3600:.1f} |")


def peak_probe(iters: int | None):
    """(n): a whole fine-tuning run on vdv2019-split (`iters` minibatches per task, or the protocol's);
    prints this process's peak resident MB."""
    module = compare.script("finetuning")
    with tempfile.TemporaryDirectory() as folder:
        argv = ["--protocol", "vdv2019-split", "--out", folder, "--overwrite"] + (["--iters", str(iters)] if iters else [])
        run(Method, cli.parse(module.HPARAMS, {}, "", argv), log=lambda *_, **__: None)
    print(f"{resident_mb(peak=True):.0f}")


def print_peak(iters: int | None):
    """(n), in a fresh process, against its target."""
    argv = [sys.executable, __file__, "--peak-probe"] + (["--iters", str(iters)] if iters else [])
    peak = float(subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    print(f"\n(n) peak resident memory, fine-tuning on vdv2019-split: {peak:.0f} MB "
          f"(target <= 850 MB {'met' if peak <= 850 else 'MISSED'})")


def print_memory_growth(tasks: int, methods=MEMORY_METHODS):
    """(h): each method's resident memory after task 10 and after the last, and the growth between."""
    print(f"\n(h) resident memory (MB), {tasks} permuted tasks, 784-64-32\n"
          "| method | after task 10 | after the last | growth | target: growth <= 50 MB |\n|---|---|---|---|---|")
    for method in methods:
        early, last = memory_growth_mb(method, tasks)
        print(f"| {method} | {early:.0f} | {last:.0f} | {last - early:.0f} | {'met' if last - early <= 50 else 'MISSED'} |")


if __name__ == "__main__":
    main()
