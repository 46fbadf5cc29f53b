/** Home page: the datasets and runs tables, and whether TensorFlow.js is ready here. */
import { listDatasets, listRuns } from '../api.js';
import { tf } from '../tf.js';
import { availableBackends } from '../train/backend.js';
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
  $('#runs-empty').hidden = runs.length > 0;
  $('#runs').hidden = runs.length === 0;
  fillRows($('#runs tbody'), runs.map((r) => [
    el('a', { href: `/runs/${r.id}`, text: r.id }), r.dataset, r.kind, r.status, String(r.epochs_done),
    fixed(r.summary?.final_loss), new Date(r.created_at).toLocaleString(),
  ]));
}

async function showTf() {
  const status = $('#tf-status');
  // Which backends start here, not which one trains: a run on 'auto' times a few training steps on each and keeps
  // the fastest (on a machine without a GPU that is often wasm, though WebGL starts too).
  const found = await availableBackends();
  const ok = Object.keys(found).filter((name) => found[name].ok);
  const missing = Object.keys(found).filter((name) => !found[name].ok);
  status.textContent = `TensorFlow.js ${tf.version.tfjs}. Backends that start in this browser: ${ok.join(', ') || 'none'}`
    + `${missing.length ? ` (not ${missing.join(', ')})` : ''}. Training on "auto" times a few steps on each and picks the fastest.`;
  status.dataset.backends = ok.join(',');
}

await Promise.all([showDatasets(), showRuns(), showTf()]);
document.body.dataset.ready = 'true';
