"""browsertrain: a server that feeds datasets to in-browser TensorFlow.js training and keeps the runs."""

from pathlib import Path

__version__ = "0.1.0"
# The checkout (or install) the server's static files, templates and npm packages come from.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
