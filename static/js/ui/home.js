/** Home page: the datasets and runs tables, and whether TensorFlow.js is ready here. */
import { listDatasets, listRuns } from '../api.js';
import { $, bytes, el, fillRows, fixed } from './dom.js';

async function showDatasets() {
  const datasets = await listDatasets();
  fillRows($('#datasets tbody'), datasets.map((d) => [
    el('a', { href: `/datasets/${encodeURIComponent(d.name)}`, text: d.name }),
    String(d.num_items), d.classes.join(', '), bytes(d.total_bytes), el('code', { text: d.hash }),
    el('a', { href: `/train?dataset=${encodeURIComponent(d.name)}`, text: 'Train' }),
  ]));
}

async function showRuns() {
  const runs = await listRuns();
  fillRows($('#runs tbody'), runs.map((r) => [
    el('a', { href: `/runs/${r.id}`, text: r.id }), r.dataset, r.kind, r.status, String(r.epochs_done),
    fixed(r.summary?.final_loss), new Date(r.created_at).toLocaleString(),
  ]));
}

async function showTf() {
  const status = $('#tf-status');
  if (!globalThis.tf) { status.textContent = 'TensorFlow.js did not load.'; return; }
  // WebGL first: it runs on every GPU vendor; loading the WebGPU bundle would otherwise make it the default.
  if (!(await tf.setBackend('webgl').catch(() => false))) await tf.ready();
  status.textContent = `TensorFlow.js ${tf.version.tfjs} ready on the ${tf.getBackend()} backend.`;
  status.dataset.backend = tf.getBackend();
}

await Promise.all([showDatasets(), showRuns(), showTf()]);
document.body.dataset.ready = 'true';
