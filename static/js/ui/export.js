/** Export page: every format's size side by side, the quality gate's numbers, downloads, and how to load each. */
import { buildExports, exportSummary, exportUrl, getRun } from '../api.js';
import { DEFAULT_MAX_ACCURACY_DROP, REFERENCE_FORMAT } from '../shared_rules.js';
import { $, bytes, el } from './dom.js';

const runId = $('#export-title').dataset.runId;
const state = { run: null, seq: null, maxDrop: DEFAULT_MAX_ACCURACY_DROP, summary: null, confirmed: new Set(), building: false };
/** Below this many times chance, a model's accuracy is called "close to chance" next to the gate. */
const NEAR_CHANCE_FACTOR = 1.5;

const percent = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);
const points = (x) => (x === null || x === undefined ? '–' : `${x > 0 ? '−' : x < 0 ? '+' : '±'}${Math.abs(x).toFixed(2)} pts`);
const small = (x) => (x === null || x === undefined ? '–' : x === 0 ? '0' : x.toExponential(2));

/** Python that imports `module`, reads an unzipped download's metadata.json and prepares one image as training did. */
function pythonInput(folder, module) {
  return `import json\n\nimport numpy as np\n${module}\nfrom PIL import Image\n\n`
    + `folder = "${folder}"  # the unzipped download\n`
    + 'with open(f"{folder}/metadata.json") as f:\n    meta = json.load(f)  # labels, input size, normalisation\n'
    + 'size, norm = (meta["input"]["width"], meta["input"]["height"]), meta["normalization"]\n'
    + '# Bilinear, like the browser\'s canvas resize in training; then the run\'s normalisation.\n'
    + 'pixels = np.asarray(Image.open("image.png").convert("RGB").resize(size, Image.BILINEAR), "float32")\n'
    + 'x = (pixels * norm["scale"] + norm["offset"]).astype("float32")[None]\n';
}

/** Python that prints the top three labels; outputs are named by index when the run's class names are unknown. */
function pythonTop3(known) {
  return (known ? 'labels = meta["labels"]\n' : 'labels = [str(i) for i in range(len(probabilities))]  # class names unknown\n')
    + 'for i in np.argsort(probabilities)[::-1][:3]:\n    print(f"{labels[i]}: {probabilities[i]:.1%}")';
}

function snippets(summary) {
  const folder = (format) => summary.formats.find((f) => f.format === format).filename.replace(/\.zip$/, '');
  const top3 = pythonTop3(Boolean(summary.labels));
  const labelsLine = summary.labels
    ? '// labels: the class names in output order (also in the zip\'s labels.txt and metadata.json).\n'
      + 'const { labels, input, normalization } = model.getUserDefinedMetadata();\n'
    : '// This run\'s class names are unknown (see above): outputs are named by index.\n'
      + 'const { input, normalization } = model.getUserDefinedMetadata();\n'
      + 'const labels = [...Array(model.outputs[0].shape[1]).keys()].map(String);\n';
  return [
    ['TensorFlow.js (float32, float16, uint16 or uint8: the same code)',
      `// Unzip ${folder('uint8')}.zip and serve its folder beside your page; quantized weights are decoded on load.\n`
      + '// image: an <img>, <canvas>, <video> or ImageBitmap.\n'
      + `const model = await tf.loadLayersModel('${folder('uint8')}/model.json');\n${labelsLine}`
      + '// Resize as training did: drawImage on a 2D canvas of the input size, fromPixels, the run\'s normalisation.\n'
      + "const canvas = Object.assign(document.createElement('canvas'), { width: input.width, height: input.height });\n"
      + "canvas.getContext('2d', { willReadFrequently: true }).drawImage(image, 0, 0, input.width, input.height);\n"
      + 'const x = tf.tidy(() => tf.browser.fromPixels(canvas).toFloat()\n'
      + '  .mul(normalization.scale).add(normalization.offset).expandDims());\n'
      + 'const y = model.predict(x);\nconst probabilities = await y.data();\ntf.dispose([x, y]);\n'
      + 'const top3 = [...probabilities].map((p, i) => [labels[i], p]).sort((a, b) => b[1] - a[1]).slice(0, 3);\n'
      + 'for (const [label, p] of top3) console.log(`${label}: ${(p * 100).toFixed(1)}%`);'],
    ['Keras H5 with tf_keras (Keras 2; Keras 3 does not read these layers)',
      `${pythonInput(folder('keras'), 'import tf_keras')}\n`
      + 'model = tf_keras.models.load_model(f"{folder}/model.h5", compile=False)  # labels also in its "labels" attribute\n'
      + `probabilities = model.predict(x, verbose=0)[0]\n${top3}`],
    ['SavedModel with TensorFlow',
      `${pythonInput(folder('savedmodel'), 'import tensorflow as tf')}\n`
      + 'serve = tf.saved_model.load(folder).signatures["serving_default"]  # labels also in assets.extra/\n'
      + `probabilities = list(serve(${summary.input_name}=tf.constant(x)).values())[0].numpy()[0]\n${top3}`],
    ['TFLite interpreter (float32 or dynamic-range quantized)',
      `${pythonInput(folder('tflite'), 'import tensorflow as tf  # or: from ai_edge_litert.interpreter import Interpreter')}\n`
      + '# model.tflite also holds metadata.json (metadata entry "browsertrain_metadata") and, as a zip, labels.txt.\n'
      + 'interpreter = tf.lite.Interpreter(model_path=f"{folder}/model.tflite")\n'
      + 'source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]\n'
      + 'interpreter.resize_tensor_input(source["index"], x.shape)\ninterpreter.allocate_tensors()\n'
      + 'interpreter.set_tensor(source["index"], x)\ninterpreter.invoke()\n'
      + `probabilities = interpreter.get_tensor(target["index"])[0]\n${top3}`],
  ];
}

function gateCell(row) {
  const { status } = row.verdict;
  if (status === 'reference') return el('span', { text: 'reference' });
  if (status === 'passed') return el('span', { class: 'ok', text: 'passed', title: 'as accurate as the float32 model, within the allowed loss' });
  if (status === 'flagged') return el('span', { class: 'error', text: `flagged: loses more than ${state.maxDrop} pts` });
  if (row.built) return el('span', { class: row.quantized ? 'error' : 'hint', text: 'not evaluated' });
  return el('span', { class: state.building ? 'building' : 'hint', text: state.building ? 'building…' : 'not built' });
}

function downloadCell(row, summary) {
  if (!row.built) {
    return row.needs_extra && !summary.extra.installed
      ? el('span', { class: 'hint', text: 'needs the export extra' })
      : el('span', { class: 'building', text: state.building ? 'building…' : 'not built' });
  }
  const needsConfirm = row.verdict.needs_confirm;
  const params = { format: row.format, seq: summary.seq, max_accuracy_drop: state.maxDrop, confirm: needsConfirm ? 'true' : null };
  const links = [el('a', {
    class: 'button', href: exportUrl(runId, params), download: row.filename, 'data-format': row.format, text: 'Download',
  })];
  if (row.raw_filename) {
    // The zip holds the model with labels.txt beside it; the bare file (labels inside) is there for tools that want one.
    links.push(el('a', {
      href: exportUrl(runId, { ...params, raw: 'true' }), download: row.raw_filename, 'data-raw': row.format,
      text: `bare ${row.raw_filename.split('.').at(-1)}`,
    }));
  }
  if (!needsConfirm) return el('span', {}, ...links.flatMap((link) => [link, ' ']));
  // A flagged export is served only once the user says they accept the loss.
  const confirmed = state.confirmed.has(row.format);
  if (!confirmed) {
    for (const link of links) {
      link.setAttribute('aria-disabled', 'true');
      link.addEventListener('click', (event) => { if (!state.confirmed.has(row.format)) event.preventDefault(); });
      link.classList.add('secondary');
    }
  }
  const box = el('input', { type: 'checkbox', 'data-confirm': row.format });
  box.checked = confirmed;
  box.addEventListener('change', () => {
    if (box.checked) state.confirmed.add(row.format); else state.confirmed.delete(row.format);
    render(state.summary);
  });
  return el('span', {}, el('label', {}, box, ' accept the loss '), ...links.flatMap((link) => [link, ' ']));
}

function render(summary) {
  state.summary = summary;
  const gate = summary.gate;
  $('#export-summary').textContent = `Dataset ${summary.dataset}, snapshot ${summary.seq} (epoch ${summary.epoch ?? '–'}), `
    + `input ${summary.input_shape.join('×')}, normalisation ${summary.normalization}.`;
  $('#labels').textContent = summary.labels
    ? `Every download holds the class names in output order (labels.txt, metadata.json and inside the model): ${summary.labels.join(', ')}.`
    : `Class names unknown: ${summary.labels_unavailable ?? 'not built yet'}.`;
  $('#gate-note').textContent = gate.val_items
    ? `The quality gate measures fidelity, not quality: how closely each export reproduces the trained float32 model `
      + `on the run's validation split (${gate.val_items} of ${gate.split_items} images, tfjs ${gate.backend} backend). `
      + '"Passed" means the export is as good as the model, not that the model is good.'
    : (summary.gate_unavailable ? `Quality gate unavailable: ${summary.gate_unavailable}.` : '');
  showModelQuality(gate);
  const rows = summary.formats.map((row) => {
    const entry = row.gate ?? {};
    const weights = row.weight_bytes ? `${bytes(row.weight_bytes)}${row.quantize_ms !== null ? ` · quantized in ${row.quantize_ms.toFixed(1)} ms` : ''}` : '–';
    return el('tr', { 'data-format': row.format, 'data-status': row.verdict.status },
      el('td', {}, el('b', { text: row.format }), el('br'), el('span', { class: 'hint', text: row.label })),
      el('td', { text: row.bytes === null ? '–' : bytes(row.bytes) }),
      el('td', { text: weights }),
      el('td', { text: percent(entry.accuracy) }),
      el('td', { text: row.format === REFERENCE_FORMAT ? '' : points(entry.accuracy_drop_points) }),
      el('td', { text: row.format === REFERENCE_FORMAT ? '' : small(entry.max_abs_diff) }),
      el('td', {}, gateCell(row)),
      el('td', {}, downloadCell(row, summary)));
  });
  $('#formats tbody').replaceChildren(...rows);
  const hint = $('#extra-hint');
  hint.hidden = summary.extra.installed;
  hint.textContent = summary.extra.install;
  $('#snippets').replaceChildren(...snippets(summary).map(([title, code]) => el('section', {},
    el('div', { class: 'snippet-head' }, el('h3', { text: title }), copyButton(code)), el('pre', {}, el('code', { text: code })))));
}

/** The model's own validation accuracy beside the gate, against chance, so "passed" is read in context. */
function showModelQuality(gate) {
  const target = $('#model-quality');
  const accuracy = gate.reference_accuracy ?? state.run?.summary?.val_accuracy ?? null;
  const classes = state.run?.summary?.evaluation?.classes?.length ?? null;
  if (accuracy === null) { target.textContent = ''; return; }
  const chance = classes ? 1 / classes : null;
  const near = chance !== null && accuracy < NEAR_CHANCE_FACTOR * chance;
  target.className = near ? 'error' : 'hint';
  target.textContent = `The model itself: ${percent(accuracy)} validation accuracy`
    + `${chance !== null ? ` (chance with ${classes} classes: ${percent(chance)})` : ''}`
    + `${near ? ' — close to chance: the exports are faithful copies of a model that has not learned much yet.' : '.'}`;
}

function copyButton(code) {
  const button = el('button', { type: 'button', class: 'secondary copy', text: 'Copy' });
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(code);
      button.textContent = 'Copied';
    } catch {
      // No clipboard outside a secure context (plain HTTP on a LAN address): select the code for Ctrl+C instead.
      getSelection().selectAllChildren(button.closest('section').querySelector('pre'));
      button.textContent = 'Selected: press Ctrl+C';
    }
    setTimeout(() => { button.textContent = 'Copy'; }, 2000);
  });
  return button;
}

async function load() {
  const params = { seq: state.seq, max_accuracy_drop: state.maxDrop };
  state.building = true;
  try {
    await build(params);
  } finally {
    state.building = false;
    if (state.summary) render(state.summary);
  }
}

async function build(params) {
  $('#error').textContent = '';
  $('#status').textContent = 'Quantizing and evaluating the tfjs exports…';
  let summary = await buildExports(runId, { ...params, group: 'tfjs' });
  render(summary);
  if (summary.extra.installed) {
    // Instant once built: the server answers from its cache.
    $('#status').textContent = 'Converting to Keras, SavedModel and TFLite with TensorFlow (about half a minute the first time)…';
    summary = await buildExports(runId, { ...params, group: 'tf' });
    render(summary);
  }
  $('#status').textContent = 'Ready.';
}

async function start() {
  try {
    state.run = await getRun(runId);
    if (!state.run.snapshots.length) {
      $('#status').textContent = 'This run has no snapshot yet: train it first.';
      return;
    }
    state.seq = state.run.snapshots.at(-1).seq;
    $('#snapshot').replaceChildren(...state.run.snapshots.map((s) => el('option', {
      value: s.seq, text: `#${s.seq} — epoch ${s.epoch ?? '–'}`,
    })));
    $('#snapshot').value = String(state.seq);
    await load();
  } catch (err) {
    $('#error').textContent = err.message;
    $('#status').textContent = '';
  } finally {
    document.body.dataset.ready = 'true';
  }
}

$('#snapshot').addEventListener('change', async (event) => {
  state.seq = Number(event.target.value);
  state.confirmed.clear();
  try { await load(); } catch (err) { $('#error').textContent = err.message; }
});
$('#max-drop').value = String(state.maxDrop);
$('#max-drop').addEventListener('change', async (event) => {
  const value = Number(event.target.value);
  if (!(value >= 0)) return;
  state.maxDrop = value;
  try {
    render({ ...(await exportSummary(runId, { seq: state.seq, max_accuracy_drop: value })),
      gate_unavailable: state.summary?.gate_unavailable ?? null });
  } catch (err) { $('#error').textContent = err.message; }
});

await start();
