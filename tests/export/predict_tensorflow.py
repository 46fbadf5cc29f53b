"""Load the TensorFlow exports as their users do and write their predictions (run as a subprocess: imports TensorFlow).

    python predict_tensorflow.py JOB.json
    JOB: {"inputs": FILE, "shape": [n, h, w, c], "out": DIR,
          "keras": H5, "savedmodel": DIR, "tflite": FILE, "tflite-dynamic": FILE}
Writes DIR/<name>.f32 for each model, and prints what it loaded.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
import tf_keras

job = json.loads(open(sys.argv[1]).read())
x = np.fromfile(job["inputs"], dtype="<f4").reshape(job["shape"])
outputs, loaded = {}, {}

keras_model = tf_keras.models.load_model(job["keras"], compile=False)
outputs["keras"] = keras_model.predict(x, verbose=0)
loaded["keras"] = type(keras_model).__name__

serve = tf.saved_model.load(job["savedmodel"]).signatures["serving_default"]
input_name = next(iter(serve.structured_input_signature[1]))
(result,) = serve(**{input_name: tf.constant(x)}).values()
outputs["savedmodel"] = result.numpy()
loaded["savedmodel"] = input_name

for name in ("tflite", "tflite-dynamic"):
    interpreter = tf.lite.Interpreter(model_path=job[name])
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(source["index"], list(x.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(source["index"], x)
    interpreter.invoke()
    outputs[name] = interpreter.get_tensor(target["index"])
    loaded[name] = str(source["dtype"].__name__)

for name, values in outputs.items():
    np.asarray(values, dtype="<f4").tofile(os.path.join(job["out"], f"{name}.f32"))
print(json.dumps({"loaded": loaded, "tensorflow": tf.__version__}))
