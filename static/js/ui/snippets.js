/**
 * The export page's code snippets, as text: load each format, prepare one image as training did, and print what
 * the model says (the top three classes, or a detection run's boxes, or a landmarks run's named points). Pure
 * strings, no DOM, so Node tests can run what the page shows.
 */
import { decodeBoxes, decodePoints, toImagePixels } from '../model/standalone_decode.js';

/** The decoders a task's JavaScript snippet pastes in, as source text (they use nothing but each other). */
const JS_DECODERS = {
  detection: [toImagePixels, decodeBoxes],
  landmarks: [toImagePixels, decodePoints],
};

const isDecoded = (summary) => Boolean(summary.task_metadata && JS_DECODERS[summary.task_metadata.task]);
const letterboxed = (summary) => summary.task_metadata?.resize?.mode === 'letterbox';

/** Python that imports `module`, reads an unzipped download's metadata.json and prepares one image as training did. */
function pythonInput(folder, module, letterbox) {
  const resize = letterbox
    ? '# Letterboxed like the run: scaled to fit, centred on black bars; then the run\'s normalisation.\n'
      + 'pixels = np.asarray(ImageOps.pad(image, size, Image.BILINEAR, color=(0, 0, 0)), "float32")\n'
    : '# Bilinear, like the browser\'s canvas resize in training; then the run\'s normalisation.\n'
      + 'pixels = np.asarray(image.resize(size, Image.BILINEAR), "float32")\n';
  return `import json\n\nimport numpy as np\n${module}\nfrom PIL import Image${letterbox ? ', ImageOps' : ''}\n\n`
    + `folder = "${folder}"  # the unzipped download\n`
    + 'with open(f"{folder}/metadata.json") as f:\n    meta = json.load(f)  # labels, input size, normalisation\n'
    + 'size, norm = (meta["input"]["width"], meta["input"]["height"]), meta["normalization"]\n'
    + `image = Image.open("image.png").convert("RGB")\n${resize}`
    + 'x = (pixels * norm["scale"] + norm["offset"]).astype("float32")[None]\n';
}

/** Python that prints the answer from `outputs` (one image's raw outputs): top three labels, points, or boxes. */
function pythonAnswer(summary) {
  if (summary.task_metadata?.task === 'landmarks') {
    return '# x1, y1, x2, y2, ... in [0, 1] of the input → the image\'s pixels, through the run\'s resize.\n'
      + 'task, (width, height) = meta["task_metadata"], image.size\nside = task["input_size"]\n'
      + 'if task["resize"]["mode"] == "letterbox":\n    sx = sy = min(side / width, side / height)\n'
      + 'else:\n    sx, sy = side / width, side / height\n'
      + 'for name, (px, py) in zip(meta["labels"], np.asarray(outputs).reshape(-1, 2)):\n'
      + '    print(f"{name}: {(px * side - (side - width * sx) / 2) / sx:.1f}, {(py * side - (side - height * sy) / 2) / sy:.1f}")';
  }
  if (summary.task_metadata?.task === 'detection') {
    return '# outputs: [S, S, anchors × (5 + classes)] raw values. Decode them with meta["task_metadata"] as the\n'
      + '# TensorFlow.js snippet\'s decodeBoxes does: sigmoid offsets per cell, anchor · exp sizes, score\n'
      + '# sigmoid(objectness) · softmax(class), the score threshold, then per-class NMS at iou_threshold.\n'
      + 'print(np.asarray(outputs).shape, meta["task_metadata"]["anchors"])';
  }
  return (summary.labels ? 'labels = meta["labels"]\n' : 'labels = [str(i) for i in range(len(outputs))]  # class names unknown\n')
    + 'for i in np.argsort(outputs)[::-1][:3]:\n    print(f"{labels[i]}: {outputs[i]:.1%}")';
}

/** JavaScript: draw `image` onto the input square as the run did (stretched, or letterboxed on black bars). */
function jsResize(letterbox) {
  const make = "const canvas = Object.assign(document.createElement('canvas'), { width: input.width, height: input.height });\n"
    + "const ctx = canvas.getContext('2d', { willReadFrequently: true });\n";
  if (!letterbox) return `${make}ctx.drawImage(image, 0, 0, input.width, input.height);\n`;
  return `${make}const scale = Math.min(input.width / width, input.height / height);\n`
    + "ctx.fillStyle = 'black';\nctx.fillRect(0, 0, input.width, input.height);\n"
    + 'ctx.drawImage(image, (input.width - width * scale) / 2, (input.height - height * scale) / 2, width * scale, height * scale);\n';
}

/** JavaScript after `values` (one image's outputs): print the top three, or the decoded boxes or points. */
function jsAnswer(summary) {
  if (!isDecoded(summary)) {
    return 'const top3 = [...values].map((p, i) => [labels[i], p]).sort((a, b) => b[1] - a[1]).slice(0, 3);\n'
      + 'for (const [label, p] of top3) console.log(`${label}: ${(p * 100).toFixed(1)}%`);';
  }
  const decoders = JS_DECODERS[summary.task_metadata.task];
  const call = summary.task_metadata.task === 'detection'
    ? 'for (const b of decodeBoxes(values, meta, width, height)) {\n'
      + '  console.log(`${b.label} ${(b.score * 100).toFixed(1)}%: x ${b.x.toFixed(0)}, y ${b.y.toFixed(0)}, w ${b.w.toFixed(0)}, h ${b.h.toFixed(0)}`);\n}\n'
    : 'for (const p of decodePoints(values, meta, width, height)) console.log(`${p.name}: ${p.x.toFixed(1)}, ${p.y.toFixed(1)}`);\n';
  return `${call}\n// The decoder, as the run decodes (in the image's pixels: x, y from its top-left corner).\n`
    + decoders.map(String).join('\n\n');
}

function jsSnippet(summary, folder) {
  const decoded = isDecoded(summary);
  const metadataLine = decoded
    ? '// task_metadata: anchors, grid, thresholds, class or point names, input size, resize (also in metadata.json).\n'
      + 'const { input, normalization, task_metadata: meta } = model.getUserDefinedMetadata();\n'
    : summary.labels
      ? '// labels: the class names in output order (also in the zip\'s labels.txt and metadata.json).\n'
        + 'const { labels, input, normalization } = model.getUserDefinedMetadata();\n'
      : '// This run\'s class names are unknown (see above): outputs are named by index.\n'
        + 'const { input, normalization } = model.getUserDefinedMetadata();\n'
        + 'const labels = [...Array(model.outputs[0].shape[1]).keys()].map(String);\n';
  return `// Unzip ${folder}.zip and serve its folder beside your page; quantized weights are decoded on load.\n`
    + '// image: an <img>, <canvas>, <video> or ImageBitmap.\n'
    + `const model = await tf.loadLayersModel('${folder}/model.json');\n${metadataLine}`
    + 'const width = image.naturalWidth || image.videoWidth || image.width;\n'
    + 'const height = image.naturalHeight || image.videoHeight || image.height;\n'
    + '// Resize as training did: drawImage on a 2D canvas of the input size, fromPixels, the run\'s normalisation.\n'
    + jsResize(letterboxed(summary))
    + 'const x = tf.tidy(() => tf.browser.fromPixels(canvas).toFloat()\n'
    + '  .mul(normalization.scale).add(normalization.offset).expandDims());\n'
    + `const y = model.predict(x);\nconst values = await y.data();\ntf.dispose([x, y]);\n${jsAnswer(summary)}`;
}

/** [title, code] per snippet for the export page, from its summary (formats, labels, task_metadata). */
export function snippets(summary) {
  const folder = (format) => summary.formats.find((f) => f.format === format).filename.replace(/\.zip$/, '');
  const answer = pythonAnswer(summary);
  const input = (format, module) => pythonInput(folder(format), module, letterboxed(summary));
  return [
    ['TensorFlow.js (float32, float16, uint16 or uint8: the same code)', jsSnippet(summary, folder('uint8'))],
    ['Keras H5 with tf_keras (Keras 2; Keras 3 does not read these layers)',
      `${input('keras', 'import tf_keras')}\n`
      + 'model = tf_keras.models.load_model(f"{folder}/model.h5", compile=False)  # labels also in its "labels" attribute\n'
      + `outputs = model.predict(x, verbose=0)[0]\n${answer}`],
    ['SavedModel with TensorFlow',
      `${input('savedmodel', 'import tensorflow as tf')}\n`
      + 'serve = tf.saved_model.load(folder).signatures["serving_default"]  # labels also in assets.extra/\n'
      + `outputs = list(serve(${summary.input_name}=tf.constant(x)).values())[0].numpy()[0]\n${answer}`],
    ['TFLite interpreter (float32 or dynamic-range quantized)',
      `${input('tflite', 'import tensorflow as tf  # or: from ai_edge_litert.interpreter import Interpreter')}\n`
      + '# model.tflite also holds metadata.json (metadata entry "browsertrain_metadata") and, as a zip, labels.txt.\n'
      + 'interpreter = tf.lite.Interpreter(model_path=f"{folder}/model.tflite")\n'
      + 'source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]\n'
      + 'interpreter.resize_tensor_input(source["index"], x.shape)\ninterpreter.allocate_tensors()\n'
      + 'interpreter.set_tensor(source["index"], x)\ninterpreter.invoke()\n'
      + `outputs = interpreter.get_tensor(target["index"])[0]\n${answer}`],
  ];
}
