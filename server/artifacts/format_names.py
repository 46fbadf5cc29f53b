"""The export formats' names and the gate's default tolerance: light, so the CLI offers them without loading exports.

They are defined in static/shared_rules.json, which the export page reads too. The TensorFlow formats need the
optional `export` extra; the first build of a snapshot takes tens of seconds.
"""

from ..shared_rules import DEFAULT_MAX_ACCURACY_DROP, REFERENCE_FORMAT as REFERENCE, TF_FORMATS, TFJS_FORMATS

__all__ = ["DEFAULT_MAX_ACCURACY_DROP", "FORMATS", "REFERENCE", "TFJS_FORMATS", "TF_FORMATS"]

FORMATS = TFJS_FORMATS + TF_FORMATS
