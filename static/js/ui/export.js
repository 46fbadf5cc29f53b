/** Export page: every format's size side by side, the quality gate's numbers, downloads, and how to load each. */
import { buildExports, exportSummary, exportUrl, getRun } from '../api.js';
import { DEFAULT_MAX_ACCURACY_DROP, MAX_POINT_SHIFT, MIN_BOX_AGREEMENT, REFERENCE_FORMAT } from '../shared_rules.js';
import { $, bytes, el, snapshotPosition } from './dom.js';
import { snippets } from './snippets.js';

const runId = $('#export-title').dataset.runId;
const state = { run: null, seq: null, maxDrop: DEFAULT_MAX_ACCURACY_DROP, summary: null, confirmed: new Set(), building: false };
/** Below this many times chance, a model's accuracy is called "close to chance" next to the gate. */
const NEAR_CHANCE_FACTOR = 1.5;

const percent = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);
const points = (x) => (x === null || x === undefined ? '–' : `${x > 0 ? '−' : x < 0 ? '+' : '±'}${Math.abs(x).toFixed(2)} pts`);
const small = (x) => (x === null || x === undefined ? '–' : x === 0 ? '0' : x.toExponential(2));

/**
 * What the gate measures for this run's task, per export: [quality against the truth, fidelity to float32, the
 * bar a flagged export misses]. Classification: accuracy and its change; detection: mAP@0.5 and box agreement;
 * landmarks: NME and how far the points moved from float32's (a share of the box diagonal).
 */
function gateColumns(task) {
  if (task === 'detection') {
    return [(e) => fixed3(e.map50), (e) => fixed3(e.box_agreement), `boxes agree less than ${MIN_BOX_AGREEMENT}`];
  }
  if (task === 'landmarks') {
    return [(e) => fixed3(e.nme), (e) => fixed3(e.nme_vs_reference), `points move more than ${MAX_POINT_SHIFT}`];
  }
  return [(e) => percent(e.accuracy), (e) => points(e.accuracy_drop_points), `loses more than ${state.maxDrop} pts`];
}

const fixed3 = (x) => (x === null || x === undefined ? '–' : x.toFixed(3));

function gateCell(row) {
  const { status } = row.verdict;
  if (status === 'reference') return el('span', { text: 'reference' });
  if (status === 'passed') return el('span', { class: 'ok', text: 'passed', title: 'predicts like the float32 model, within the allowed difference' });
  if (status === 'flagged') return el('span', { class: 'error', text: `flagged: ${gateColumns(state.summary?.task)[2]}` });
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
  const [quality, fidelity] = gateColumns(summary.task);
  const rows = summary.formats.map((row) => {
    const entry = row.gate ?? {};
    const weights = row.weight_bytes ? `${bytes(row.weight_bytes)}${row.quantize_ms !== null ? ` · quantized in ${row.quantize_ms.toFixed(1)} ms` : ''}` : '–';
    return el('tr', { 'data-format': row.format, 'data-status': row.verdict.status },
      el('td', {}, el('b', { text: row.format }), el('br'), el('span', { class: 'hint', text: row.label })),
      el('td', { text: row.bytes === null ? '–' : bytes(row.bytes) }),
      el('td', { text: weights }),
      el('td', { text: quality(entry) }),
      el('td', { text: row.format === REFERENCE_FORMAT ? '' : fidelity(entry) }),
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
  if (gate.task === 'detection' || gate.task === 'landmarks') {
    const [name, value] = gate.task === 'detection' ? ['mAP@0.5', gate.reference_map50] : ['NME', gate.reference_nme];
    target.className = 'hint';
    target.textContent = value === null || value === undefined ? '' : `The model itself: ${name} ${fixed3(value)} on the validation split.`;
    return;
  }
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
      value: s.seq, text: `#${s.seq} — epoch ${snapshotPosition(s)}`,
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
