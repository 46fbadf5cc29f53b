/** Export page: every format's size side by side, the quality gate's numbers, downloads, and how to load each. */
import { buildExports, exportSummary, exportUrl, getRun } from '../api.js';
import { $, bytes, el } from './dom.js';

const runId = $('#export-title').dataset.runId;
const state = { run: null, seq: null, maxDrop: 1, summary: null, confirmed: new Set(), building: false };
/** Below this many times chance, a model's accuracy is called "close to chance" next to the gate. */
const NEAR_CHANCE_FACTOR = 1.5;

const percent = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);
const points = (x) => (x === null || x === undefined ? '–' : `${x > 0 ? '−' : x < 0 ? '+' : '±'}${Math.abs(x).toFixed(2)} pts`);
const small = (x) => (x === null || x === undefined ? '–' : x === 0 ? '0' : x.toExponential(2));

/** How a user normalises pixels for this run: the same affine map as static/js/data/normalize.js. */
function preprocessing(normalization) {
  if (normalization === 'symmetric') return { js: '.div(127.5).sub(1)', py: 'pixels / 127.5 - 1' };
  if (normalization === 'imagenet') {
    return {
      js: '.div(255).sub([0.485, 0.456, 0.406]).div([0.229, 0.224, 0.225])',
      py: '(pixels / 255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]',
    };
  }
  return { js: '.div(255)', py: 'pixels / 255' };
}

function snippets(summary) {
  const [size] = summary.input_shape;
  const pre = preprocessing(summary.normalization);
  const name = (format) => summary.formats.find((f) => f.format === format).filename;
  const folder = name('uint8').replace(/\.zip$/, '');
  const pythonInput = `# pixels: uint8 array [n, ${size}, ${size}, 3], RGB, resized to ${size}x${size}\n`
    + `x = (${pre.py}).astype("float32")\n`;
  return [
    ['TensorFlow.js (float32, float16, uint16 or uint8: the same code)',
      `// Unzip ${name('uint8')} and serve the folder beside your page; quantized weights are decoded on load.\n`
      + `const model = await tf.loadLayersModel('${folder}/model.json');\n`
      + `const x = tf.tidy(() => tf.browser.fromPixels(image).resizeBilinear([${size}, ${size}]).toFloat()${pre.js}.expandDims());\n`
      + 'const probabilities = await model.predict(x).data();'],
    ['Keras H5 with tf_keras (Keras 2; Keras 3 does not read these layers)',
      `import tf_keras\n\nmodel = tf_keras.models.load_model("${name('keras')}", compile=False)\n${pythonInput}`
      + 'probabilities = model.predict(x)'],
    ['SavedModel with TensorFlow',
      `import tensorflow as tf\n\n# unzip ${name('savedmodel')} first\n`
      + `serve = tf.saved_model.load("${name('savedmodel').replace(/\.zip$/, '')}").signatures["serving_default"]\n`
      + `${pythonInput}probabilities = list(serve(${summary.input_name}=tf.constant(x)).values())[0].numpy()`],
    ['TFLite interpreter (float32 or dynamic-range quantized)',
      `import tensorflow as tf  # or: from ai_edge_litert.interpreter import Interpreter\n\n`
      + `interpreter = tf.lite.Interpreter(model_path="${name('tflite')}")\n${pythonInput}`
      + 'source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]\n'
      + 'interpreter.resize_tensor_input(source["index"], x.shape)\ninterpreter.allocate_tensors()\n'
      + 'interpreter.set_tensor(source["index"], x)\ninterpreter.invoke()\n'
      + 'probabilities = interpreter.get_tensor(target["index"])'],
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
  const params = { format: row.format, seq: summary.seq, max_accuracy_drop: state.maxDrop };
  const link = el('a', {
    class: 'button', href: exportUrl(runId, { ...params, confirm: needsConfirm ? 'true' : null }),
    download: row.filename, 'data-format': row.format, text: 'Download',
  });
  if (!needsConfirm) return link;
  // A flagged export is served only once the user says they accept the loss.
  const confirmed = state.confirmed.has(row.format);
  if (!confirmed) {
    link.setAttribute('aria-disabled', 'true');
    link.addEventListener('click', (event) => { if (!state.confirmed.has(row.format)) event.preventDefault(); });
    link.classList.add('secondary');
  }
  const box = el('input', { type: 'checkbox', 'data-confirm': row.format });
  box.checked = confirmed;
  box.addEventListener('change', () => {
    if (box.checked) state.confirmed.add(row.format); else state.confirmed.delete(row.format);
    render(state.summary);
  });
  return el('span', {}, el('label', {}, box, ' accept the loss '), link);
}

function render(summary) {
  state.summary = summary;
  const gate = summary.gate;
  $('#export-summary').textContent = `Dataset ${summary.dataset}, snapshot ${summary.seq} (epoch ${summary.epoch ?? '–'}), `
    + `input ${summary.input_shape.join('×')}, normalisation ${summary.normalization}.`;
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
      el('td', { text: row.format === 'tfjs' ? '' : points(entry.accuracy_drop_points) }),
      el('td', { text: row.format === 'tfjs' ? '' : small(entry.max_abs_diff) }),
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
