"""Runs: their lifecycle in the metadata store, the per-epoch log, and weight snapshots."""
