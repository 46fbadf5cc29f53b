"""Thin HTTP handlers, one module per resource, plus the pages."""
