"""The export formats' names and the gate's default tolerance: light, so the CLI offers them without loading exports."""

REFERENCE = "tfjs"
TFJS_FORMATS = ("tfjs", "float16", "uint16", "uint8")
# Built through TensorFlow (the optional `export` extra): the first build of a snapshot takes tens of seconds.
TF_FORMATS = ("keras", "savedmodel", "tflite", "tflite-dynamic")
FORMATS = TFJS_FORMATS + TF_FORMATS
# An export that loses more than this many points of validation accuracy is flagged and needs a confirm.
DEFAULT_MAX_ACCURACY_DROP = 1.0
