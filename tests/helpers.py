"""Small helpers shared by several test modules."""
from minidl import callbacks


class WeightsPerEpoch(callbacks.Callback):
    """Records a copy of the model's weights at the end of every epoch: weights[epoch]."""

    def __init__(self):
        super().__init__()
        self.weights = {}

    def on_epoch_end(self, epoch, logs=None):
        self.weights[epoch] = self.model.get_weights()
