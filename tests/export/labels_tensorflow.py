"""Read the labels back from the TensorFlow exports as their users would, and run the export page's Python snippets as
written (a subprocess: it imports TensorFlow).

    python labels_tensorflow.py JOB.json    JOB: {"h5": FILE?, "tflite": {name: FILE}?, "snippets": {name: CODE}?,
                                                  "cwd": DIR (where the snippets run: unzipped downloads, image.png)}
Prints one JSON line: {"h5": {"labels", "metadata"}, "tflite": {name: metadata}, "printed": {name: stdout}}.
"""

import contextlib
import io
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import h5py
from tensorflow.lite.python import schema_py_generated as schema

job = json.loads(open(sys.argv[1]).read())
answer = {"h5": {}, "tflite": {}, "printed": {}}

if "h5" in job:
    with h5py.File(job["h5"], "r") as f:
        answer["h5"] = {
            "labels": [v.decode() if isinstance(v, bytes) else v for v in f.attrs["labels"]],
            "metadata": json.loads(f.attrs["browsertrain_metadata"]),
        }

for name, path in job.get("tflite", {}).items():
    with open(path, "rb") as f:
        model = schema.Model.GetRootAsModel(bytearray(f.read()), 0)
    entries = {model.Metadata(i).Name().decode(): model.Metadata(i).Buffer() for i in range(model.MetadataLength())}
    data = model.Buffers(entries["browsertrain_metadata"]).DataAsNumpy().tobytes()
    answer["tflite"][name] = json.loads(data)

os.chdir(job["cwd"])
for name, code in job.get("snippets", {}).items():
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, f"<{name} snippet>", "exec"), {"__name__": "__main__"})
    answer["printed"][name] = printed.getvalue()
print(json.dumps(answer))
