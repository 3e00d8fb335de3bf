"""Named bundles of training settings.

Every script starts from AUTHORS and its own block adds or overrides values. `--protocol NAME` then
applies one of PRESETS on top (the network, optimiser, schedule and benchmark of a published table),
and explicit flags override everything. Method hyperparameters are not part of a protocol: choose them
for the protocol (see the README for the values the papers used).
"""

# The ANPyC authors' script without pruning (anpyc_wo_np), which every method uses by default so that
# a comparison is between methods, not between networks or schedules.
AUTHORS = dict(
    dataset="mnist",
    benchmark="permuted",  # permuted MNIST
    tasks=None,  # None: the benchmark's full sequence, 10 permuted tasks (authors) or the 5 split tasks
    model="mlp",
    hidden="512,256",  # MLP 784-512-256
    latent=32,  # --model vae only: the latent dimensions (its encoder and decoder use --hidden)
    init="auto",  # the MLP: weights from a normal truncated at 2 sigma (sigma 0.1), biases 0.1 (authors);
    # the CNN and the VAE, which the authors did not have: Glorot's (common/models.py, network_init)
    dropout=0.5,  # during training only; the authors' code also left it on at evaluation (a bug)
    dropout_layers=None,  # after every hidden layer
    scenario="task",  # one head per task
    optimizer="sgd",  # plain SGD
    beta_1=0.9,  # --optimizer adam only: Keras' (and Kingma and Ba's) betas
    beta_2=0.999,
    optimizer_state="carry",  # --optimizer adam only: its moments carry on from task to task
    lr=0.1,
    lr_decay=0.9,  # lr is multiplied by 0.9 ...
    lr_decay_epochs=10,  # ... every 10 epochs, counted within each task (across its retraining rounds)
    lr_decay_first=None,  # the decay while the first task trains, if not lr_decay
    batch_size=256,
    epochs=50,  # per task
    iters=None,  # or a number of minibatches per task, instead of epochs
    extra_epochs=None,  # or more epochs for each task, one number per task (a control for extra training)
    seed=0,
    precision="float32",  # or bfloat16: the classifier's layers compute in it, its variables stay float32 (models.py)
    deterministic=False,  # TensorFlow's op determinism (needed for exact repeats on a GPU; costs speed there)
    train_subset=None,  # all of each task's training images
    validation=0,  # training images held out per task for choosing hyperparameters
    protocol="authors",
    label=None,  # the method's name in tables: the script's
)

# What the authors' pruning script (ANPyC_wi_NP.py) changed: a smaller network, a smaller lr decayed every
# 5 epochs, by 0.99 while the first task trains and by 0.9 everywhere else (its retraining included).
AUTHORS_PRUNING = dict(hidden="64,32", lr=0.02, epochs=30, lr_decay_epochs=5, lr_decay_first=0.99)

MERGAN = dict(benchmark="classes", tasks=None, model="mergan", dropout=0.0, scenario="task", optimizer="adam", lr=0.0001,
              beta_1=0.0, beta_2=0.9, optimizer_state="reset", lr_decay=1.0, lr_decay_first=None, batch_size=320,
              iters=4000)

# The published protocols keep Keras' Glorot initialisation: the papers used PyTorch's default (uniform,
# scaled by fan-in), closer to Glorot than to the ANPyC authors' fixed sigma of 0.1.
PRESETS = {
    "authors": {},  # each script's own values, as above
    # every method on the pruning script's network and schedule:
    "authors-pruning": AUTHORS_PRUNING,
    # the authors' SGD-frozen notebook (Permuted_MNIST/sgd_frozen/), which reports an average of 83.34% over
    # 10 permuted tasks: 784-512-256 with dropout 0.5 after the second hidden layer only, their
    # initialisation, plain SGD at lr 0.001, 10,000 minibatches of 256 per task, 55,000 training images:
    "authors-sgd-frozen": dict(benchmark="permuted", tasks=10, model="mlp", hidden="512,256", init="authors",
                               dropout=0.5, dropout_layers=[2], scenario="task", optimizer="sgd", lr=0.001,
                               lr_decay=1.0, lr_decay_first=None, batch_size=256, iters=10000, validation=5000),
    # van de Ven and Tolias, "Three scenarios for continual learning" (2019), split MNIST:
    "vdv2019-split": dict(benchmark="split", tasks=5, model="mlp", hidden="400,400", init="glorot", dropout=0.0,
                          scenario="task", optimizer="adam", lr=0.001, lr_decay=1.0, lr_decay_first=None,
                          batch_size=128, iters=2000),
    # the same paper, permuted MNIST (they report it in every scenario: add --scenario domain for theirs):
    "vdv2019-permuted": dict(benchmark="permuted", tasks=10, model="mlp", hidden="1000,1000", init="glorot",
                             dropout=0.0, optimizer="adam", lr=0.0001, lr_decay=1.0, lr_decay_first=None,
                             batch_size=128, iters=5000),
    # Hsu et al., "Re-evaluating continual learning scenarios" (2018), split MNIST on 28x28 inputs:
    "hsu2018-split": dict(benchmark="split", tasks=5, model="mlp", hidden="400,400", init="glorot", dropout=0.0,
                          scenario="task", optimizer="adam", lr=0.001, lr_decay=1.0, lr_decay_first=None,
                          batch_size=128, epochs=4, iters=None),
    # Continual generation with a conditional GAN (anpyc_gan.py): ours (the ANPyC paper gives no GAN
    # protocol). An MLP generator 74-256-512-784 (z of 64 and the digit) and critic 794-512-256-1,
    # WGAN-GP's loss, Adam at 2e-4 for the generator (the critic's: common/gan.py), batch 64, 10 epochs
    # of each digit.
    "gan": dict(benchmark="classes", tasks=None, model="gan", hidden="256,512", latent=64, init="glorot",
                dropout=0.0, scenario="task", optimizer="adam", lr=0.0002, lr_decay=1.0, lr_decay_first=None,
                batch_size=64, epochs=10, iters=None),
    # Memory Replay GANs (Wu et al., NeurIPS 2018), MNIST, as their released code runs it (common/mergan.py
    # cites each line): one digit per task, 4,000 generator steps per digit (mergan.py:64, 344-348), each
    # after 5 critic steps on 64 real images (the batch of 320), Adam at 1e-4 with betas 0 and 0.9 for both
    # networks, reset as each task begins (mergan.py:103-106, 329-341).
    "mergan": MERGAN,
    # The same with MLPs in place of the convolutions (ours, for CPUs): the generator 128-256-512-1024.
    "mergan-mlp": MERGAN | dict(model="mergan-mlp", hidden="256,512"),
    # Continual generation (anpyc_vae.py): an MLP VAE 784-500-500-32 learns one digit class per task. Ours:
    # the ANPyC paper gives no VAE protocol. Adam at the usual lr for MNIST VAEs; 10 epochs of each class.
    "vae": dict(benchmark="classes", tasks=None, model="vae", hidden="500,500", latent=32, init="glorot",
                dropout=0.0, scenario="task", optimizer="adam", lr=0.001, lr_decay=1.0, lr_decay_first=None,
                batch_size=128, epochs=10, iters=None),
    # Zenke, Poole and Ganguli, "Continual learning through synaptic intelligence" (ICML 2017), split
    # CIFAR as their code runs it (ganguli-lab/pathint, fig_transfer_cifar/train.py): CIFAR-10, then
    # CIFAR-100's classes 0-9, ..., 40-49, six tasks of ten classes (lines 78-84; utils.py's
    # construct_transfer_cifar10_cifar100), all training images, scored on the test images (their
    # "validation" data is the test split); their CNN (lines 124-146, common/models.py's zenke) with a
    # 10-way output per task (their one 60-way output, masked to the task's classes); Adam at 1e-3 with
    # betas 0.9 and 0.999 (line 151), reset after each task (line 74); batch 256, 60 epochs per task
    # (lines 55-57); no augmentation. Their SI: --c 0.1 --xi 0.001 (c from 0, 0.01, 0.1: line 63; line 150).
    "zenke2017-split-cifar": dict(dataset="cifar10_100", benchmark="split", tasks=6, model="zenke", hidden="512",
                                  init="glorot", dropout=0.5, dropout_layers=None, scenario="task", optimizer="adam",
                                  lr=0.001, beta_1=0.9, beta_2=0.999, optimizer_state="reset", lr_decay=1.0,
                                  lr_decay_first=None, batch_size=256, epochs=60, iters=None),
}
