"""ANPyC for continual generation with a GAN: a conditional GAN learns MNIST one digit per task (Peng et
al., IEEE TNNLS 2021, say that ANPyC carries over to GANs; their code has none, so this adaptation is
ours, built as the VAE's is).

The GAN (common/gan.py): an MLP generator conditioned on the digit, 74-256-512-784, and a shared MLP
discriminator trained on the current task's real images; the methods see and consolidate the generator.

ANPyC's importance stays label-free: I is the entropy of the generator's output pixels, read as
Bernoulli means, for a batch of samples of the task's digits, and Omega_b = max(0, g*theta +
0.5*theta^2*g^2), g = dI/dtheta, as for the classifier's softmax and the VAE's pixels. The consolidation,
its penalty step and the pruning are anpyc_wi_np.py's, unchanged; --prune-percent 0 gives ANPyC without
pruning. The baselines run on the same GAN with `--protocol gan` (baselines/finetuning.py, ewc.py,
si.py, joint.py, generative_replay.py).

On Memory Replay GANs' protocol (`--protocol mergan` or `mergan-mlp`, common/mergan.py) the generator
is theirs, and I is the entropy of the critic's auxiliary classifier (AC-GAN) for generated images of
the task's digits: the classifier's entropy of the paper, on what the generator makes, and as free of
labels. Pruning there spares the conditional batch norms' per-digit scales and shifts (a digit not yet
learned has no importance, so its rows would be pruned first and start its task at 0).

Results (our GAN): accuracy.csv holds the share of 1,000 samples of each task that a classifier trained on real
MNIST judges to show the digit they were conditioned on; fid.csv the Fréchet distance between those
samples and the task's real test images in that classifier's features (lower is better); samples.png
samples of every task after each task.
"""
import anpyc_wi_np  # imports common/ first, which makes TensorFlow's import quiet
from anpyc_wi_np import PrunedANPyC
from common import cli, protocols

HPARAMS = anpyc_wi_np.HPARAMS | protocols.PRESETS["gan"] | dict(
    protocol="gan",  # 10 tasks of one digit each; the MLP GAN; Adam, lr 2e-4, batch 64, 10 epochs
    networks=("gan", *cli.MERGAN),  # ours, or Memory Replay GANs' (--protocol mergan, mergan-mlp)
    lamb=100.0,  # consolidation strength: the VAE's value until a campaign chooses it on validation data
    accumulate="sum",  # task importances add up, as in the authors' pruning script
    importance_batch=100,  # the authors' batch for the importance
    prune_percent=50,  # the authors' schedule: p = 50 on task 1, then p <- int(0.8 p)
    prune_decay=0.8,
    prune_step=10,
    retrain_epochs=2,  # after each pruning step, as the VAE's (ours)
)
FLAGS = anpyc_wi_np.FLAGS

if __name__ == "__main__":
    cli.main(PrunedANPyC, HPARAMS, FLAGS, __doc__)
