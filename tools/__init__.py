"""Maintenance scripts that are not part of the app: `python -m tools.screenshots`."""
