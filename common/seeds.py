"""One random stream per purpose, all fixed by the run's --seed.

Two generators started from the same integer draw the same raw numbers, so a purpose never starts one
from --seed itself: its key is derived from (seed, purpose), and no two purposes share a stream. The
weights' initialisation and the dropout masks draw from Keras' global seeding
(`keras.utils.set_random_seed(seed)` at the start of a run), which is distinct again.
"""
import keras
import numpy as np

PURPOSES = (
    "fisher",  # EWC: the labels sampled from the model's prediction
    "replay",  # joint: the batches of earlier tasks
    "vae_noise",  # the VAE's z while it trains
    "vae_score",  # the VAE's z when its negative ELBO is scored (fixed per task)
    "vae_samples",  # the VAE's z ~ N(0, I) of the samples it is judged on and shows (fixed per task)
    "memory",  # replay: which training images its memory keeps
    "rehearsal",  # replay: the batches drawn from its memory
    "gan_noise",  # the GAN's z and digits while it trains
    "gan_samples",  # the GAN's z of the samples it is judged on and shows (fixed per task)
)


def key(seed: int, purpose: str) -> int:
    """A 31-bit integer for `purpose` under `seed` (fits every seed dtype TensorFlow takes)."""
    return int(np.random.SeedSequence([seed, PURPOSES.index(purpose)]).generate_state(1)[0] >> 1)


def generator(seed: int, purpose: str) -> keras.random.SeedGenerator:
    """A stateful stream for `purpose`; its state is a variable named after the purpose, which
    checkpoints save and restore by that name."""
    return keras.random.SeedGenerator(key(seed, purpose), name=f"{purpose}_seed")
