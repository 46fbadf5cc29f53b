"""Sweeps: trials of one base config over a search space, chosen and pruned by an Optuna study (docs/queue.md)."""
