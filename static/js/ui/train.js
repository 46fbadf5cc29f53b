/** Train page: the form, the controls, live numbers and charts; window.browsertrain mirrors it for scripts. */
import { listDatasets } from '../api.js';
import { buildModel, resolveModelConfig } from '../model/builder.js';
import { modelStats } from '../model/stats.js';
import { TrainingSession, resolveRunConfig } from '../train/session.js';
import { epochCharts } from './chart.js';
import { $, bytes, el, fixed } from './dom.js';

const params = new URLSearchParams(location.search);
const form = $('#train-form');
/** What `browsertrain train` (headless) reads: phase, run id, epochs, summary or error. */
const state = { phase: 'idle', status: '', runId: null, epochs: [], summary: null, error: null, warnings: [], backend: null, sync: null };
globalThis.browsertrain = state;

function setStatus(text, phase) {
  state.status = text;
  if (phase) state.phase = phase;
  $('#status').textContent = text;
}

/** Read the form into a run config (names with a dot go into config.model). */
function formConfig() {
  const config = { model: {} };
  for (const input of form.querySelectorAll('[name]')) {
    if (input.name === 'dataset') continue;
    let value = input.type === 'checkbox' ? input.checked : input.value;
    if (input.type === 'number') value = Number(value);
    if (input.name === 'model.stages') value = value.split(',').map(Number);
    if (input.name.startsWith('model.')) config.model[input.name.slice(6)] = value;
    else config[input.name] = value;
  }
  return resolveRunConfig(config);
}

/** Query parameters (?dataset=&epochs=&batchSize=&...) prefill the form, so scripts drive the same page. */
function applyParams() {
  for (const [key, value] of params) {
    const input = form.querySelector(`[name="${CSS.escape(key)}"]`);
    if (!input) continue;
    if (input.type === 'checkbox') input.checked = value !== '0' && value !== 'false';
    else input.value = value;
  }
}

async function showModelStats() {
  const target = $('#model-stats');
  try {
    const config = formConfig();
    const dataset = datasets.find((d) => d.name === $('#dataset').value);
    const model = buildModel(resolveModelConfig({ ...config.model, inputSize: config.inputSize, numClasses: Math.max(2, dataset?.classes.length ?? 2) }));
    const s = modelStats(model);
    model.dispose();
    target.textContent = `${s.params.toLocaleString()} parameters · ${bytes(s.float32Bytes)} float32 · `
      + `${bytes(s.uint8Bytes)} uint8 · ${(s.flopsPerImage / 1e6).toFixed(1)} MFLOPs per image`;
    target.className = 'hint';
  } catch (err) {
    target.textContent = err.message;
    target.className = 'error';
  }
}

function showEpoch(record) {
  state.epochs.push(record);
  epochCharts($('#charts'), state.epochs);
  const stat = (label, value) => el('div', { class: 'stat' }, label, el('b', { text: value }));
  $('#live-stats').replaceChildren(
    stat('Epoch', `${record.epoch + 1} / ${formConfig().epochs}`), stat('Train loss', fixed(record.train_loss)),
    stat('Val loss', fixed(record.val_loss)), stat('Val accuracy', fixed(record.val_accuracy, 3)),
    stat('Learning rate', String(record.next_lr)), stat('Images / s', fixed(record.images_per_second, 1)),
    stat('Tensors', String(record.num_tensors)), stat('Memory', bytes(record.num_bytes)),
  );
  $('#lr-now').value = record.next_lr;
}

let session = null;
let datasets = [];

function setRunning(running) {
  $('#start').disabled = running;
  for (const id of ['#pause', '#stop', '#set-lr']) $(id).disabled = !running;
}

async function start(resumeRunId = null) {
  state.error = null;
  state.epochs = [];
  setRunning(true);
  const hooks = {
    onStatus: setStatus,
    onSync: (p) => {
      state.sync = p;
      const bar = $('#sync-progress');
      bar.hidden = p.phase === 'ready';
      if (p.totalBytes) bar.value = p.bytes / p.totalBytes;
      $('#sync-text').textContent = p.phase === 'ready'
        ? `${p.items} images ready (${p.source === 'cache' ? 'from this browser\'s cache' : p.source})`
        : `${p.items}/${p.totalItems} images, ${bytes(p.bytes)} of ${bytes(p.totalBytes)}`;
    },
    onBackend: (choice) => { state.backend = choice; },
    onRun: (run) => { state.runId = run.id; history.replaceState(null, '', `/train?resume=${run.id}`); },
    onEpoch: showEpoch,
    onStep: (info) => {
      const bar = $('#step-progress');
      bar.hidden = false;
      bar.value = (info.step + 1) / info.steps;
    },
    onSnapshot: (meta) => { state.lastSnapshot = meta; },
    onWarning: (text) => { state.warnings.push(text); $('#warning').textContent = text; },
  };
  try {
    const wanted = params.get('dataset');
    if (!resumeRunId && wanted && !datasets.some((d) => d.name === wanted)) {
      throw new Error(`there is no dataset named '${wanted}' on this server (${datasets.map((d) => d.name).join(', ') || 'none yet'})`);
    }
    session = resumeRunId
      ? new TrainingSession({ resumeRunId }, hooks)
      : new TrainingSession({ dataset: $('#dataset').value, config: formConfig() }, hooks);
    state.summary = await session.run();
    state.phase = 'done';
  } catch (err) {
    state.error = err.message;
    state.phase = 'error';
    setStatus(`Training failed: ${err.message}`);
    console.error(err);
  } finally {
    setRunning(false);
    session = null;
  }
}

form.addEventListener('submit', (e) => { e.preventDefault(); start(); });
form.addEventListener('change', showModelStats);
$('#pause').addEventListener('click', async () => {
  if (!session) return;
  if ($('#pause').textContent === 'Pause') {
    await session.pause();
    $('#pause').textContent = 'Resume';
    setStatus('Paused', 'paused');
  } else {
    session.resume();
    $('#pause').textContent = 'Pause';
    setStatus('Training…', 'train');
  }
});
$('#stop').addEventListener('click', () => session?.stop());
$('#set-lr').addEventListener('click', () => session?.setLr(Number($('#lr-now').value)));
globalThis.browsertrainControls = { stop: () => session?.stop(), pause: () => session?.pause(), resume: () => session?.resume() };

datasets = await listDatasets();
$('#dataset').replaceChildren(...datasets.map((d) => el('option', { value: d.name, text: `${d.name} (${d.num_items} images)` })));
applyParams();
await tf.ready();
await showModelStats();
state.phase = 'ready';
if (params.get('resume')) start(params.get('resume'));
else if (params.get('autostart') === '1') start();
