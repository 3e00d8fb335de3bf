"""TensorBoard event files in a run's results folder: the training loss and lr after every epoch (step:
the optimiser's step count), each task's test accuracy and their average after every task (step: the
number of tasks learned). `tensorboard --logdir results/` shows every run.

They are written with TensorFlow's own summary op and the scalar plugin's metadata, so the scripts
need no tensorboard package; only viewing them does (pip install tensorboard).
"""
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

SCALAR = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
    data_class=summary_pb2.DATA_CLASS_SCALAR,
).SerializeToString()


class Summaries:
    def __init__(self, folder):
        self.writer = tf.summary.create_file_writer(str(folder))

    def scalars(self, step: int, values: dict, flush: bool = False) -> None:
        with self.writer.as_default():
            for tag, value in values.items():
                tf.summary.write(tag, tf.constant(value, tf.float32), step=step, metadata=SCALAR)
        if flush:
            self.writer.flush()

    def close(self) -> None:
        self.writer.close()
