"""browsertrain: a server that feeds datasets to in-browser TensorFlow.js training and keeps the runs."""

__version__ = "0.1.0"
