"""One run of a method on a task sequence: data, model, training loop, results folder."""
import time
from functools import partial
from pathlib import Path

import keras
import tensorflow as tf

from common import checkpoint, data, gan, mergan, models, provenance, vae
from common.results import RunDir, write_atomic
from common.summaries import Summaries
from common.training import Trainer


def device_name() -> str:
    gpus = tf.config.list_physical_devices("GPU")
    return f"GPU ({len(gpus)} found, using the first)" if gpus else "CPU"


def row_scalars(name: str, row: list[float]) -> dict:
    """TensorBoard tags of one row of a result matrix (accuracy: test_accuracy/task_1, ..., /average)."""
    tag = "test_accuracy" if name == "accuracy" else name
    return {f"{tag}/task_{j + 1}": a for j, a in enumerate(row)} | {f"{tag}/average": sum(row) / len(row)}


def network(config, tasks):
    """The classifier (one head per task, one shared head, or one head over every task's classes), the
    VAE or the GAN that config.model names."""
    generative = {"vae": vae, "gan": gan, "mergan": mergan, "mergan-mlp": mergan}
    if config.model in generative:
        return generative[config.model].build(config, tasks)
    classes, shape = tasks[0].classes, tasks[0].shape
    if config.scenario == "class":
        return models.build(config.model, config.hidden, 1, classes * len(tasks), config.dropout, shape, config.init,
                            config.dropout_layers, per_task=classes, precision=config.precision)
    heads = 1 if config.scenario == "domain" else len(tasks)
    return models.build(config.model, config.hidden, heads, classes, config.dropout, shape, config.init,
                        config.dropout_layers, precision=config.precision)


def clock(seconds: float) -> str:
    """1:02:03 or 2:03."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def resident_mb(peak: bool = False) -> float | None:
    """This process's resident memory in MB now (or its peak), from /proc on Linux; None elsewhere.
    (getrusage's ru_maxrss is no substitute: it also counts the peak of the parent that started the
    process, which survives fork and exec.)"""
    status = Path("/proc/self/status")
    field = "VmHWM:" if peak else "VmRSS:"
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return None


def run(method_cls, config, log=partial(print, flush=True)) -> dict:
    """Train `method_cls(config)` on the configured sequence; returns its result matrices by name (the
    test accuracy (%) as "accuracy", ...). With config.resume, continue from the results folder's
    checkpoint."""
    if config.deterministic:  # process-wide, and for good: every op then has one result (on a GPU too)
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(config.seed)
    tasks = data.make_benchmark(
        config.benchmark, config.tasks, config.seed, config.data_dir, config.train_subset, config.validation,
        config.dataset,
    )
    results = RunDir(config)
    model = network(config, tasks)
    method = method_cls(config)
    trainer = Trainer(model, tasks, method, config, log, Summaries(results.path))
    try:
        return train(trainer, config, results, log)
    finally:
        trainer.summaries.close()  # its last scalars reach the disk, whatever ended the run


def train(trainer, config, results, log) -> dict:
    """The task loop of `run`. After each task, the checkpoint is saved first and the results second,
    so a run marked finished always has its final checkpoint; a resumed run writes its results anew
    at once, in case it stopped between the two."""
    model, method, tasks = trainer.model, trainer.method, trainer.tasks
    device = device_name()
    provenance.record(results.path, device, resumed=bool(config.resume))
    log(f"{config.script}: {len(tasks)} {config.benchmark} {data.DATASETS[config.dataset].title} tasks, {config.model} {config.hidden}, "
        f"{sum(int(tf.size(v)) for v in model.trainable_variables):,} parameters, on {device}; results in {results.path}")
    progress = (config.resume and checkpoint.load(results.path, trainer)) or {"matrices": {}, "seconds": 0}
    matrices = progress["matrices"]
    costs = {"task_seconds": progress.get("task_seconds", []), "resident_mb": progress.get("resident_mb", [])}

    def write_results(learned: int, seconds: float) -> None:
        results.record(matrices, model.report() | method.report() | {"seconds": seconds} | costs)
        for name, png in model.pictures(learned).items():
            write_atomic(results.path / name, png)

    first = len(matrices.get("accuracy", []))
    if first:
        log(f"resuming after task {first} of {len(tasks)}")
        write_results(first, progress["seconds"])
    start = time.perf_counter() - progress["seconds"]
    for t in range(first, len(tasks)):
        trainer.learn(t)
        rows = model.evaluate(trainer, t + 1, config.validation > 0)
        scalars = {}
        for name, row in rows.items():
            matrices.setdefault(name, []).append(row)
            scalars |= row_scalars(name, row)
        seconds = round(time.perf_counter() - start, 1)
        costs["task_seconds"].append(round(seconds - sum(costs["task_seconds"]), 1))
        memory = resident_mb()
        costs["resident_mb"].append(memory and round(memory))
        trainer.summaries.scalars(t + 1, scalars, flush=True)
        checkpoint.save(results.path, trainer, {"matrices": matrices, "seconds": seconds} | costs)
        write_results(t + 1, seconds)
        per_task = (seconds - progress["seconds"]) / (t + 1 - first)  # this session's pace
        log(f"after task {t + 1}: " + "  ".join(
            f"{name} " + " ".join(f"{a:.2f}" for a in row) + f" (average {sum(row) / len(row):.2f})"
            for name, row in rows.items() if not name.startswith("validation"))
            + f";  {clock(seconds)} elapsed, about {clock(per_task * (len(tasks) - t - 1))} left"
            + (f", {memory:,.0f} MB resident" if memory else ""))
    return matrices
