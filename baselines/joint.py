"""Joint training, the multi-task upper bound: while task t trains, each step also takes a batch of
every earlier task (each through its own head) and minimises the mean loss over the t+1 tasks. So
after task t the network has trained on the union of tasks 1..t, and its accuracy matrix has the same
shape as every other method's.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so that `python baselines/joint.py` finds common/

from common import cli, protocols, seeds  # noqa: E402
from common.method import Method  # noqa: E402
import keras  # noqa: E402

HPARAMS = protocols.AUTHORS | dict(
    # Not MeRGAN's networks: each earlier task's share would take its own 5 critic steps. Their joint
    # training (JT) is offline: baselines/finetuning.py --protocol mergan --benchmark all --iters 40000.
    networks=(*cli.CLASSIFIERS, "vae", "gan"),
)


class Joint(Method):
    def __init__(self, config):
        super().__init__(config)
        self.seed = seeds.generator(config.seed, "replay")

    def before_task(self, trainer, task):
        self.data = trainer.data

    def penalty(self, model, task, batch):
        """The summed loss of one random batch of each earlier task."""
        total = 0.0
        for k in range(task):
            indices = keras.random.randint([self.config.batch_size], 0, self.data[k].size, seed=self.seed)
            x, y = self.data[k].batch(indices)
            total += model.task_loss(x, y, k, training=True)[0]
        return total

    def total_loss(self, task_loss, penalty, task):
        return (task_loss + penalty) / (task + 1)

    def state(self):
        return {"seed": self.seed.state}


if __name__ == "__main__":
    cli.main(Joint, HPARAMS, {}, __doc__)
