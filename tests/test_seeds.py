"""Each purpose draws its own random stream: EWC's Fisher labels, joint's replay, the VAE's noise."""
from types import SimpleNamespace

import numpy as np
import tensorflow as tf

from baselines import ewc, joint
from common import seeds, vae
from common.data import Split, Task


def test_every_purpose_has_its_own_stream():
    keys = {purpose: seeds.key(3, purpose) for purpose in seeds.PURPOSES}
    assert len(set(keys.values())) == len(keys)
    assert all(0 <= k < 2**31 for k in keys.values()) and seeds.key(3, "fisher") != seeds.key(4, "fisher")
    config = SimpleNamespace(seed=3, lamb=1.0, gamma=1.0, variant="online", optimizer="sgd", penalty_step="implicit")
    fisher, replay = ewc.EWC(config).seed, joint.Joint(config).seed
    assert not np.array_equal(fisher.state.numpy(), replay.state.numpy())
    draws = [tf.random.stateless_uniform([4], g.next()).numpy() for g in (fisher, replay)]
    assert not np.allclose(*draws)


def test_the_vaes_scoring_noise_is_not_its_samples_noise():
    images = np.zeros((2, 784), np.uint8)
    task = Task("digit-0", Split(images, np.zeros(2, np.int32)), Split(images[:0], np.zeros(0, np.int32)),
                Split(images, np.zeros(2, np.int32)), classes=1, digits=(0,))
    model = vae.VAE([8], 3, [task], 1, "glorot", seed=5)
    # score() draws z = mu + sigma * noise; sample(..., stream=0) decodes z ~ N(0, I): two streams
    scored, sampled = model.codes(4, 0, "vae_score"), model.codes(4, 0, "vae_samples", stream=0)
    assert not np.allclose(scored, sampled)
    x = tf.zeros([4, 784])
    np.testing.assert_allclose(model.score(x, None, 0), model.negative_elbo(x, 0, scored))
    assert model.noise.state.numpy()[0] == seeds.key(5, "vae_noise")
