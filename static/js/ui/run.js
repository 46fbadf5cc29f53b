/** Run page: the epoch charts, evaluation or sanity verdict, LR log, snapshots with their files, config, resume. */
import { getRun, itemUrl, latestModelUrl } from '../api.js';
import { loadRunModel } from '../model/predict.js';
import { tf } from '../tf.js';
import { DEFAULT_MORE_EPOCHS } from '../train/start_point.js';
import { describeLrSchedule, resolveLrSchedule } from '../train/schedule.js';
import { epochCharts } from './chart.js';
import { $, bytes, el, fillRows, fixed, snapshotPosition } from './dom.js';
import { renderEvaluation, renderOverfit } from './evaluation.js';
import { mountTryIt } from './try_it.js';

const runId = $('#run-title').dataset.runId;

function show(run) {
  const s = run.summary ?? {};
  $('#run-summary').textContent = `${run.kind} run on ${run.dataset} (hash ${run.dataset_hash}), ${run.status}, `
    + `${run.epochs_done} epochs, backend ${run.info.backend ?? '–'}${run.info.gpu_renderer ? ` (${run.info.gpu_renderer})` : ''}`;
  const stat = (label, value) => el('div', { class: 'stat' }, label, el('b', { text: value }));
  const task = s.task ?? run.config.task ?? 'classification';
  const [metricLabel, metric] = { detection: ['mAP@0.5', s.map50], landmarks: ['NME', s.nme] }[task] ?? ['Val accuracy', s.val_accuracy];
  $('#run-stats').replaceChildren(
    stat('Final loss', fixed(s.final_loss)), stat('Val loss', fixed(s.val_loss)),
    stat(metricLabel, fixed(metric, 3)), stat('Images / s', fixed(s.images_per_second, 1)),
    stat('Parameters', run.info.params?.toLocaleString() ?? '–'),
  );
  epochCharts($('#charts'), run.epochs, task);
  const base = `/api/runs/${runId}/snapshots`;
  fillRows($('#snapshots tbody'), run.snapshots.map((snap) => [
    String(snap.seq), snapshotPosition(snap), bytes(snap.weight_bytes), new Date(snap.created_at).toLocaleString(),
    el('span', {}, el('a', { href: `${base}/${snap.seq}/model.json`, text: 'model.json' }), ' · ',
      el('a', { href: `${base}/${snap.seq}/model.weights.bin`, download: `run-${runId}-${snap.seq}.weights.bin`, text: 'weights' })),
  ]));
  $('#run-config').textContent = JSON.stringify({ config: run.config, info: run.info }, null, 2);
  const hasSnapshot = run.snapshots.length > 0;
  $('#download-weights').disabled = !hasSnapshot;
  // A sanity run trained on its own subset; resuming it as a plain run would train on everything instead. A finished
  // run never changes: it is trained further as a new run (Train more).
  const finished = run.status === 'finished';
  $('#resume-link').hidden = !hasSnapshot || finished || run.status === 'running' || run.kind === 'sanity';
  $('#finished-note').hidden = !finished || run.kind === 'sanity';
  $('#train-more').hidden = !hasSnapshot || run.kind === 'sanity';
  $('#more-epochs').value = String(DEFAULT_MORE_EPOCHS);
  showLineage(run);
  if (hasSnapshot && run.kind === 'train') mountTryIt($('#try-it'), () => loadRunModel(run));
  showChecks(run);
  showLrLog(run);
}

/** Train more links runs: this one's parent (and the snapshot it started from) and the runs started from it. */
function showLineage(run) {
  const from = run.info.from_snapshot;
  const parts = [];
  if (run.parent_run_id) {
    parts.push('Continues run ', el('a', { href: `/runs/${run.parent_run_id}`, id: 'parent-link', text: run.parent_run_id }),
      from ? ` from its snapshot after epoch ${from.epoch}.` : '.');
  }
  if (run.child_run_ids?.length) {
    parts.push(`${parts.length ? ' ' : ''}Trained further in: `);
    run.child_run_ids.forEach((id, i) => parts.push(i ? ', ' : '', el('a', { href: `/runs/${id}`, class: 'child-link', text: id })));
    parts.push('.');
  }
  $('#lineage').replaceChildren(...parts);
  $('#lineage').hidden = !parts.length;
}

/** The leak watchdog's finding, a sanity run's verdict with its predictions, or the evaluation. */
function showChecks(run) {
  const leak = run.summary?.leak ?? run.info.leak;
  $('#leak').hidden = !leak;
  if (leak) $('#leak').textContent = `The leak watchdog paused this run at epoch ${leak.epoch + 1}: ${leak.message}`;
  const overfit = run.summary?.overfit;
  const evaluation = run.summary?.evaluation;
  const imageSrc = (id) => itemUrl(run.dataset, id);
  $('#checks').hidden = !overfit && !evaluation;
  if (overfit) {
    $('#checks-title').textContent = `Sanity check: overfit ${overfit.images} images`;
    renderOverfit($('#checks-body'), overfit, imageSrc);
  } else if (evaluation) {
    $('#checks-title').textContent = 'Evaluation on the validation split';
    renderEvaluation($('#checks-body'), evaluation, imageSrc);
  }
}

/** Tip 6 of docs/tips.md made visible: the schedule's rule and every change of the rate, with its reason. */
function showLrLog(run) {
  $('#lr-rule').textContent = `Rule: ${describeLrSchedule(resolveLrSchedule(run.config.lrSchedule))}.`;
  const history = run.epochs.at(-1)?.lr_state?.history ?? [];
  const rate = (lr) => String(Number(lr.toPrecision(4)));  // 0.001 × 0.1 is 0.00010000000000000002 in floats
  const changes = history.slice(1).map((change, i) => [String(change.epoch + 1), rate(history[i].lr), rate(change.lr), change.reason]);
  fillRows($('#lr-changes tbody'), changes.length ? changes : [['–', String(run.config.lr ?? '–'), '–', 'no change']]);
}

/**
 * Loads the latest snapshot and lets tfjs save model.json + weights as two downloads, ready for loadLayersModel.
 * On the cpu backend: re-saving needs no GPU, and the page loads the WebGPU bundle, whose backend would otherwise
 * be the default and throw "not yet initialized" (nothing here awaits tf.ready() for it).
 */
async function downloadWeights() {
  const status = $('#download-status');
  const button = $('#download-weights');
  button.disabled = true;
  status.className = 'hint';
  status.textContent = 'Preparing the download…';
  try {
    await tf.setBackend('cpu');
    const model = await tf.loadLayersModel(latestModelUrl(runId));
    try {
      await model.save(`downloads://browsertrain-${runId}`);
    } finally {
      model.optimizer?.dispose();
      model.dispose();
    }
    status.textContent = `Saved browsertrain-${runId}.json and browsertrain-${runId}.weights.bin: keep them side by side `
      + 'and load with tf.loadLayersModel. For other formats, use Export.';
  } catch (err) {
    status.className = 'error';
    status.textContent = `Could not download the weights: ${err.message}`;
  } finally {
    button.disabled = false;
  }
}

$('#download-weights').addEventListener('click', downloadWeights);

try {
  show(await getRun(runId));
} catch (err) {
  $('#run-summary').textContent = `Could not load run ${runId}: ${err.message}`;
}
document.body.dataset.ready = 'true';
