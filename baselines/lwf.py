"""LwF, learning without forgetting (Li and Hoiem, ECCV 2016 / TPAMI 2017).

At the start of each task, the old heads' outputs on the new task's training images are recorded
(dropout off). While the new task trains, each old head is kept close to its recorded outputs by
knowledge distillation at temperature T: the cross-entropy between softmax(recorded / T) and
softmax(current / T), weighted by lambda and summed over the old heads. The old heads stay frozen
by default, as in the ANPyC authors' LwF.py (only the trunk and the new head train); `--old-heads
trained` trains them too, as Li and Hoiem do. On permuted MNIST a new task's images say nothing about
the old tasks, and fitting the old heads to them ruins those heads. In the class-incremental scenario
the one head is distilled over the classes of the earlier tasks, the outputs the old network had.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so that `python baselines/lwf.py` finds common/

from common import cli, protocols  # noqa: E402
from common.method import Method  # noqa: E402
import tensorflow as tf  # noqa: E402

HPARAMS = protocols.AUTHORS | dict(
    lamb=1.0,  # Li and Hoiem's lambda_o; the ANPyC authors searched a grid of values
    temperature=2.0,  # the ANPyC authors' and Li and Hoiem's T
    old_heads="frozen",  # the ANPyC authors'; Li and Hoiem train them
    networks=cli.CLASSIFIERS,  # it distils class probabilities
)

FLAGS = {
    "lamb": cli.Flag(float, "weight lambda of the distillation loss", cli.at_least(0)),
    "temperature": cli.Flag(float, "distillation temperature T", cli.above(0)),
    "old_heads": cli.Flag(str, "frozen (the ANPyC authors') or trained (Li and Hoiem)", choices=("frozen", "trained"),
                          inert=lambda c: c.scenario != "task" and f"with --scenario {c.scenario} every task shares "
                                                                   "one head, which trains"),
}


def old_heads(model, task):
    """The heads that tasks before `task` used, once each (one, if all tasks share a head)."""
    return list({id(model.head(k)): model.head(k) for k in range(task)}.values())


def old_outputs(model, features, task):
    """[images, old heads, classes]: each old head's logits; class-incremental, the one head's logits of
    the classes that the tasks before `task` brought (the outputs the old network had)."""
    if model.per_task:
        return model.head(0)(features)[:, None, : task * model.per_task]
    return tf.stack([head(features) for head in old_heads(model, task)], axis=1)


class LwF(Method):
    def __init__(self, config):
        super().__init__(config)
        self.recorded = None

    def trainable_variables(self, model, task):
        new = super().trainable_variables(model, task)
        if self.config.old_heads == "frozen":
            return new
        known = {id(v) for v in new}  # a shared head is already there
        return new + [v for head in old_heads(model, task) for v in head.trainable_variables if id(v) not in known]

    def before_task(self, trainer, task):
        if task == 0:
            return
        model, data = trainer.model, trainer.data[task]

        @tf.function
        def outputs(indices):
            return old_outputs(model, model.features(data.batch(indices)[0]), task)

        chunks = [outputs(tf.range(i, min(i + 1000, data.size))) for i in range(0, data.size, 1000)]
        self.recorded = tf.concat(chunks, axis=0)  # [images, old heads, classes]; made anew for each task

    def penalty(self, model, task, batch):
        if task == 0:
            return 0.0
        T = self.config.temperature
        target = tf.nn.softmax(tf.gather(self.recorded, batch.indices) / T)
        current = old_outputs(model, batch.features, task)
        distillation = -tf.reduce_sum(target * tf.nn.log_softmax(current / T), axis=-1)
        return self.config.lamb * tf.reduce_sum(tf.reduce_mean(distillation, axis=0))


if __name__ == "__main__":
    cli.main(LwF, HPARAMS, FLAGS, __doc__)
