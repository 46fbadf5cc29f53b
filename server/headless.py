"""`browsertrain train`: drive the train page in headless Chromium and report what it did."""

from __future__ import annotations


def add_train_arguments(parser) -> None:
    parser.add_argument("--dataset", required=True)


def train(args) -> int:
    raise NotImplementedError
