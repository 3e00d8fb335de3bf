"""ANPyC for continual generation: an MLP VAE learns MNIST one digit class per task (Peng et al., IEEE
TNNLS 2021, say that ANPyC carries over to VAEs; their code has no VAE, so this adaptation is ours).

The VAE (common/vae.py): 784-500-500 encoder and 500-500-784 decoder trunks, shared by all tasks; each
task has its own heads, the encoder's output layer (mu, log sigma^2 of a 32-dimensional latent) and the
decoder's output layer (Bernoulli pixel logits), as each classification task has its own output layer.

ANPyC's importance stays label-free: I is the entropy of the decoder's Bernoulli pixel distribution for
a batch of the task's training images passed through the network (z at the posterior mean), and
Omega_b = max(0, g*theta + 0.5*theta^2*g^2), g = dI/dtheta, as for the classifier's softmax. The
consolidation, its penalty step and the pruning are anpyc_wi_np.py's, unchanged; --prune-percent 0
gives ANPyC without pruning. The baselines run on the same VAE with `--protocol vae`
(baselines/finetuning.py, ewc.py, si.py, joint.py).

Results: accuracy.csv holds the share of 1,000 samples of each task that a classifier trained on real
MNIST judges to show the task's digit; nll.csv the test negative ELBO in nats of each task's test
images (lower is better); samples.png samples of every task after each task.
"""
import anpyc_wi_np  # imports common/ first, which makes TensorFlow's import quiet
from anpyc_wi_np import PrunedANPyC
from common import cli, protocols

HPARAMS = anpyc_wi_np.HPARAMS | protocols.PRESETS["vae"] | dict(
    protocol="vae",  # 10 tasks of one digit each; VAE 784-500-500-32; Adam, lr 0.001, batch 128, 10 epochs
    defines=("model",),  # the VAE, under any preset
    lamb=1e6,  # consolidation strength, chosen from 0.1 to 1e8 on seed 0's validation negative ELBO
    # (the `vae` campaign, results/README.md)
    accumulate="sum",  # task importances add up, as in the authors' pruning script
    importance_batch=100,  # the authors' batch for the importance
    prune_percent=50,  # the authors' schedule: p = 50 on task 1, then p <- int(0.8 p)
    prune_decay=0.8,
    prune_step=10,
    retrain_epochs=2,  # after each of the 24 pruning steps of 10 tasks (ours: the authors retrain as long
    # as a task trains, which would make pruning 2.4 times the cost of training; this makes it 0.5 times)
)
FLAGS = anpyc_wi_np.FLAGS

if __name__ == "__main__":
    cli.main(PrunedANPyC, HPARAMS, FLAGS, __doc__)
