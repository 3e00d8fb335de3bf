"""Named bundles of training settings. Every script starts from AUTHORS; its own block adds or
overrides values, and command-line flags override both."""

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
    seed=0,
    train_subset=None,  # all of each task's training images
    validation=0,  # training images held out per task for choosing hyperparameters
)
