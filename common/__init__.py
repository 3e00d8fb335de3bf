"""Shared core of the ANPyC scripts and baselines.

Importing the package imports TensorFlow once with its C++ start-up messages sent to /dev/null, so
that what a run prints on stderr is ours: a user's mistake stays one line. Python errors raised by
the import are not hidden; only the file descriptor is redirected, and restored before they surface.
On a GPU, memory grows as the run needs it instead of being taken whole at start, so that several
runs (`compare.py --jobs N`, or Ray's GPU shares) can share one GPU.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _import_tensorflow_quietly():
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow as tf

        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
        # Each task traces its own functions by design; TF's warning about "excessive retracing" is noise.
        tf.get_logger().setLevel("ERROR")
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_import_tensorflow_quietly()
