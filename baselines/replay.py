"""Naive rehearsal, or experience replay (Hsu et al., "Re-evaluating continual learning scenarios: a
categorization and case for strong baselines", 2018): a fixed memory of earlier tasks' training images,
replayed beside every batch of the new task.

The memory holds --memory images in all, shared equally among every class of the tasks learned so far
(a class is a task's label: permuted MNIST's tasks have 10 each); when a task ends, every class gives up
part of its share, keeping a fixed random subset, so the memory never grows. Each step of task t adds
one batch from the memory, split equally among the earlier tasks (each through its own head in the
task-incremental scenario), and minimises the mean of the new batch's loss and the memory's: the loss
of one batch twice the size, half of it replayed. It works in all three scenarios.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so that `python baselines/replay.py` finds common/

from common import cli, protocols, seeds  # noqa: E402
from common.errors import UserError  # noqa: E402
from common.method import Method  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

HPARAMS = protocols.AUTHORS | dict(
    # GT-RIPL/Continual-Learning-Benchmark (Hsu et al.'s code) runs naive rehearsal on split MNIST with
    # memories of 1,100 and 4,400 images (agents Naive_Rehearsal_1100 and _4400); 1,100, the smaller:
    memory=1100,
    networks=cli.CLASSIFIERS,  # it keeps a classifier's labelled images
)

FLAGS = {"memory": cli.Flag(int, "training images kept from earlier tasks, in all", cli.at_least(1))}


def class_balanced(labels_of_tasks: list[np.ndarray], budget: int, seed: int) -> list[np.ndarray]:
    """For each task, the indices of its training images that a memory of `budget` keeps: budget //
    (number of classes) of each class (all of a class that has fewer), the first of a fixed random
    order of that class, so that a smaller share keeps a subset of a larger one."""
    share = budget // sum(len(np.unique(labels)) for labels in labels_of_tasks)
    kept = []
    for task, labels in enumerate(labels_of_tasks):
        rng = np.random.default_rng([seeds.key(seed, "memory"), task])
        order = rng.permutation(len(labels))
        kept.append(np.sort(np.concatenate([order[labels[order] == c][:share] for c in np.unique(labels)])))
    return kept


class Replay(Method):
    def __init__(self, config):
        super().__init__(config)
        self.seed = seeds.generator(config.seed, "rehearsal")

    def before_task(self, trainer, task):
        self.data = trainer.data
        labels = [t.train.labels for t in trainer.tasks[:task]]
        classes = sum(len(np.unique(y)) for y in labels)
        if classes > self.config.memory:
            raise UserError(f"--memory {self.config.memory} cannot keep an image of each of the {classes} classes "
                            f"of tasks 1 to {task}: give it at least {classes}")
        kept = class_balanced(labels, self.config.memory, self.config.seed) if task else []
        self.memory = [tf.constant(k, tf.int32) for k in kept]

    def penalty(self, model, task, batch):
        """The mean loss of one memory batch, split equally among the earlier tasks."""
        if not task:
            return 0.0
        each = max(1, self.config.batch_size // task)
        total = 0.0
        for k, kept in enumerate(self.memory):
            picks = keras.random.randint([each], 0, tf.size(kept), seed=self.seed)
            x, y = self.data[k].batch(tf.gather(kept, picks))
            total += model.task_loss(x, y, k, training=True)[0]
        return total / task

    def total_loss(self, task_loss, penalty, task):
        return (task_loss + penalty) / 2 if task else task_loss

    def state(self):
        return {"seed": self.seed.state}


if __name__ == "__main__":
    cli.main(Replay, HPARAMS, FLAGS, __doc__)
