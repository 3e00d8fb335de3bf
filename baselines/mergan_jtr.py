"""MeRGAN-JTR, joint training with replay (Wu et al., NeurIPS 2018, "Memory Replay GANs"): while a digit
trains, a frozen copy of the generator as it was after the previous one replays every earlier digit,
and both networks learn those images as they learn the new digit's (mergan.py:267-326). In each of
the 5 critic steps of a generator step, the critic also takes, for each earlier digit c,
D(G(z, c)) - D(G_old(z, c)) + CE(classifier(G_old(z, c)), c), and the generator's loss takes
-D(G(z, c)) + CE(classifier(G(z, c)), c): summed over the digits, each weighted as the new one, from
one batch of 64 shared equally among them, with the codes z shared by the two generators.

The replay is part of the network's step (common/mergan.py, `MeRGAN.replay`); this method keeps the
frozen copy, hands it to the network, and refreshes it after each task. For --model mergan and
mergan-mlp.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so that `python baselines/mergan_jtr.py` finds common/

from common import cli, protocols  # noqa: E402
from common.method import Method, by_variable  # noqa: E402
import tensorflow as tf  # noqa: E402

HPARAMS = protocols.AUTHORS | protocols.PRESETS["mergan"] | dict(
    protocol="mergan",
    networks=cli.MERGAN,  # the replay is MeRGAN's step
)


class JointTrainingWithReplay(Method):
    def setup(self, trainer):
        self.live = trainer.model.shared_variables
        self.copy = [tf.Variable(v, trainable=False) for v in self.live]
        trainer.model.replayed = self.copy

    def after_task(self, trainer, task):
        for copy, live in zip(self.copy, self.live):
            copy.assign(live)

    def state(self):
        return by_variable("frozen", self.copy, self.live)


if __name__ == "__main__":
    cli.main(JointTrainingWithReplay, HPARAMS, {}, __doc__)
