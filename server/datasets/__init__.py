"""Datasets: import (folder or zip, ImageFolder or labels.csv), validation, manifests and bulk packs."""
