"""Shared core of the ANPyC scripts and baselines.

TensorFlow is imported only by the modules that compute, so that the table tools (plot_results.py,
`python -m common.documents`) start without it: on the Zen 3 that runs CI, `plot_results.py --help` took
7.6 s of CPU time with TensorFlow's import and takes 2.4 s without it.
Whichever module imports it first, after this package, the import runs with TensorFlow's C++ start-up
messages sent to /dev/null (a finder on sys.meta_path wraps TensorFlow's loader), so that what a run
prints on stderr is ours: a user's mistake stays one line. Python errors raised by the import are not
hidden; only the file descriptor is redirected, and restored before they surface. That is why every
script imports common/ before TensorFlow or Keras.

Once TensorFlow is loaded, on a GPU, memory grows as the run needs it instead of being taken whole at
start, so that several runs (`compare.py --jobs N`, or Ray's GPU shares) can share one GPU.
"""
import contextlib
import importlib.abc
import importlib.machinery
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def _stderr_to_devnull():
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _configure(tf):
    """Memory growth on every GPU, TensorFlow's logger at ERROR; called with stderr on /dev/null, as
    looking for GPUs prints too."""
    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)
    # Each task traces its own functions by design; TF's warning about "excessive retracing" is noise.
    tf.get_logger().setLevel("ERROR")


class _QuietLoader(importlib.abc.Loader):
    """TensorFlow's own loader, run with file descriptor 2 on /dev/null, then `_configure`."""

    def __init__(self, loader):
        self.loader = loader

    def __getattr__(self, name):  # anything else a loader answers (resources, source), TensorFlow's loader answers
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with _stderr_to_devnull():
            self.loader.exec_module(module)
            _configure(module)


class _QuietTensorFlow(importlib.abc.MetaPathFinder):
    """Finds TensorFlow as Python would, and hands it `_QuietLoader`; then steps aside."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


if "tensorflow" in sys.modules:  # imported before this package: too late to quieten, not to configure
    with _stderr_to_devnull():
        _configure(sys.modules["tensorflow"])
else:
    sys.meta_path.insert(0, _QuietTensorFlow())
