"""Named bundles of training settings.

Every script starts from AUTHORS and its own block adds or overrides values. `--protocol NAME` then
applies one of PRESETS on top (the network, optimiser, schedule and benchmark of a published table),
and explicit flags override everything. Method hyperparameters are not part of a protocol: choose them
for the protocol (see the README for the values the papers used).
"""

# The ANPyC authors' script without pruning (anpyc_wo_np), which every method uses by default so that
# a comparison is between methods, not between networks or schedules.
AUTHORS = dict(
    benchmark="permuted",  # permuted MNIST
    tasks=None,  # None: the benchmark's full sequence, 10 permuted tasks (authors) or the 5 split tasks
    model="mlp",
    hidden="512,256",  # MLP 784-512-256
    dropout=0.5,  # during training only; the authors' code also left it on at evaluation (a bug)
    scenario="task",  # one head per task
    optimizer="sgd",  # plain SGD
    lr=0.1,
    lr_decay=0.9,  # lr is multiplied by 0.9 ...
    lr_decay_epochs=10,  # ... every 10 epochs, counted within each task
    batch_size=256,
    epochs=50,  # per task
    iters=None,  # or a number of minibatches per task, instead of epochs
    seed=0,
    train_subset=None,  # all of each task's training images
    validation=0,  # training images held out per task for choosing hyperparameters
    protocol="authors",
)

PRESETS = {
    "authors": {},  # each script's own values, as above
    # van de Ven and Tolias, "Three scenarios for continual learning" (2019), split MNIST:
    "vdv2019-split": dict(benchmark="split", tasks=5, model="mlp", hidden="400,400", dropout=0.0, scenario="task",
                          optimizer="adam", lr=0.001, lr_decay=1.0, batch_size=128, iters=2000),
    # the same paper, permuted MNIST (they report it in every scenario: add --scenario domain for theirs):
    "vdv2019-permuted": dict(benchmark="permuted", tasks=10, model="mlp", hidden="1000,1000", dropout=0.0,
                             optimizer="adam", lr=0.0001, lr_decay=1.0, batch_size=128, iters=5000),
    # Hsu et al., "Re-evaluating continual learning scenarios" (2018), split MNIST on 28x28 inputs:
    "hsu2018-split": dict(benchmark="split", tasks=5, model="mlp", hidden="400,400", dropout=0.0, scenario="task",
                          optimizer="adam", lr=0.001, lr_decay=1.0, batch_size=128, epochs=4, iters=None),
}
