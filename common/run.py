"""One run of a method on a task sequence: data, model, training loop, results folder."""
import time
from functools import partial

import keras
import tensorflow as tf

from common import checkpoint, data, models
from common.results import RunDir
from common.summaries import Summaries
from common.training import Trainer


def device_name() -> str:
    gpus = tf.config.list_physical_devices("GPU")
    return f"GPU ({len(gpus)} found, using the first)" if gpus else "CPU"


def accuracy_scalars(split: str, row: list[float]) -> dict:
    """TensorBoard tags of one row of an accuracy matrix: each task's accuracy and their average."""
    return {f"{split}_accuracy/task_{j + 1}": a for j, a in enumerate(row)} | {f"{split}_accuracy/average": sum(row) / len(row)}


def clock(seconds: float) -> str:
    """1:02:03 or 2:03."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def run(method_cls, config, log=partial(print, flush=True)) -> list[list[float]]:
    """Train `method_cls(config)` on the configured sequence; returns the test accuracy matrix (%).
    With config.resume, continue from the checkpoint in the results folder."""
    keras.utils.set_random_seed(config.seed)
    tasks = data.make_benchmark(
        config.benchmark, config.tasks, config.seed, config.data_dir, config.train_subset, config.validation
    )
    results = RunDir(config)
    heads = 1 if config.scenario == "domain" else len(tasks)
    model = models.build(config.model, config.hidden, heads, tasks[0].classes, config.dropout, config.init)
    method = method_cls(config)
    trainer = Trainer(model, tasks, method, config, log, Summaries(results.path))
    log(f"{config.script}: {len(tasks)} {config.benchmark}-MNIST tasks, {config.model} {config.hidden}, "
        f"{sum(int(tf.size(v)) for v in model.trainable_variables):,} parameters, on {device_name()}; results in {results.path}")
    progress = (config.resume and checkpoint.load(results.path, trainer)) or {"test": [], "validation": [], "seconds": 0}
    test, validation = progress["test"], progress["validation"]
    if test:
        log(f"resuming after task {len(test)} of {len(tasks)}")
    start = time.perf_counter() - progress["seconds"]
    first = len(test)
    for t in range(first, len(tasks)):
        trainer.learn(t)
        test.append([trainer.accuracy(j) for j in range(t + 1)])
        if config.validation:
            validation.append([trainer.accuracy(j, "validation") for j in range(t + 1)])
        seconds = round(time.perf_counter() - start, 1)
        scalars = accuracy_scalars("test", test[-1]) | (accuracy_scalars("validation", validation[-1]) if validation else {})
        trainer.summaries.scalars(t + 1, scalars, flush=True)
        results.record(test, validation, method.report() | {"seconds": seconds})
        checkpoint.save(results.path, trainer, {"test": test, "validation": validation, "seconds": seconds})
        per_task = (seconds - progress["seconds"]) / (t + 1 - first)  # this session's pace
        log(f"after task {t + 1}: accuracy " + " ".join(f"{a:.2f}" for a in test[-1])
            + f"  (average {sum(test[-1]) / len(test[-1]):.2f});  {clock(seconds)} elapsed, "
            + f"about {clock(per_task * (len(tasks) - t - 1))} left")
    return test
