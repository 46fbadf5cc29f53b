/** Run page: the epoch charts, the snapshots with their files, the config, resume and download. */
import { getRun, latestModelUrl } from '../api.js';
import { epochCharts } from './chart.js';
import { $, bytes, el, fillRows, fixed } from './dom.js';

const runId = $('#run-title').dataset.runId;

function show(run) {
  const s = run.summary ?? {};
  $('#run-summary').textContent = `${run.kind} run on ${run.dataset} (hash ${run.dataset_hash}), ${run.status}, `
    + `${run.epochs_done} epochs, backend ${run.info.backend ?? '–'}${run.info.gpu_renderer ? ` (${run.info.gpu_renderer})` : ''}`;
  const stat = (label, value) => el('div', { class: 'stat' }, label, el('b', { text: value }));
  $('#run-stats').replaceChildren(
    stat('Final loss', fixed(s.final_loss)), stat('Val loss', fixed(s.val_loss)),
    stat('Val accuracy', fixed(s.val_accuracy, 3)), stat('Images / s', fixed(s.images_per_second, 1)),
    stat('Parameters', run.info.params?.toLocaleString() ?? '–'),
  );
  epochCharts($('#charts'), run.epochs);
  const base = `/api/runs/${runId}/snapshots`;
  fillRows($('#snapshots tbody'), run.snapshots.map((snap) => [
    String(snap.seq), String(snap.epoch ?? '–'), bytes(snap.weight_bytes), new Date(snap.created_at).toLocaleString(),
    el('span', {}, el('a', { href: `${base}/${snap.seq}/model.json`, text: 'model.json' }), ' · ',
      el('a', { href: `${base}/${snap.seq}/model.weights.bin`, download: `run-${runId}-${snap.seq}.weights.bin`, text: 'weights' })),
  ]));
  $('#run-config').textContent = JSON.stringify({ config: run.config, info: run.info }, null, 2);
  const hasSnapshot = run.snapshots.length > 0;
  $('#download-weights').disabled = !hasSnapshot;
  $('#resume-link').hidden = !hasSnapshot || run.status === 'running';
}

$('#download-weights').addEventListener('click', async () => {
  // Loads the latest snapshot and lets tfjs save model.json + weights as two downloads, ready for loadLayersModel.
  const model = await tf.loadLayersModel(latestModelUrl(runId));
  await model.save(`downloads://browsertrain-${runId}`);
  model.optimizer?.dispose();
  model.dispose();
});

try {
  show(await getRun(runId));
} catch (err) {
  $('#run-summary').textContent = `Could not load run ${runId}: ${err.message}`;
}
document.body.dataset.ready = 'true';
