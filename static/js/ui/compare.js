/** Compare page: pick runs, overlay their loss and accuracy curves, diff their configs (differences first). */
import { getRun, listRuns } from '../api.js';
import { curves, diffConfigs } from '../train/compare.js';
import { lineChart, seriesClass } from './chart.js';
import { $, el, fillRows, fixed } from './dom.js';

const CHARTS = [
  ['Training loss', 'train_loss', 'cross-entropy'], ['Validation loss', 'val_loss', 'cross-entropy'],
  ['Validation accuracy', 'val_accuracy', 'accuracy'], ['Learning rate', 'lr', 'rate (log scale)'],
];

const shown = (value) => (value === undefined ? '—' : value === null ? 'null' : String(value));

function selectedIds() {
  return [...document.querySelectorAll('#run-picker input:checked')].map((box) => box.value);
}

function showDiff(runs) {
  const visible = diffConfigs(runs.map((run) => ({ kind: run.kind, dataset: run.dataset, continues: run.parent_run_id, ...run.config })))
    .filter((row) => $('#show-same').checked || row.differs);
  $('#config-diff thead').replaceChildren(el('tr', {}, el('th', { text: 'Setting' }),
    ...runs.map((run, i) => el('th', { class: seriesClass(i), text: run.id }))));
  $('#config-diff tbody').replaceChildren(...visible.map((row) => el('tr', { class: row.differs ? 'differs' : '', 'data-key': row.key },
    el('td', { text: row.key }), ...row.values.map((value) => el('td', { text: shown(value) })))));
}

async function compare(ids) {
  if (ids.length < 2) {
    $('#compare-status').textContent = 'Pick at least two runs.';
    return;
  }
  $('#compare-status').textContent = 'Loading…';
  const runs = await Promise.all(ids.map((id) => getRun(id)));
  history.replaceState(null, '', `/compare?runs=${ids.join(',')}`);
  $('#legend').replaceChildren(...runs.map((run, i) => el('a', { href: `/runs/${run.id}`, class: seriesClass(i) },
    `■ ${run.id} (${run.kind}, ${run.dataset}, lr ${run.config.lr}, final loss ${fixed(run.summary?.final_loss)}`
    + `${run.parent_run_id ? `, continues ${run.parent_run_id}` : ''})`)));
  $('#compare-charts').replaceChildren(...CHARTS.map(([title, metric, yTitle]) => {
    const box = el('figure', { class: 'chart', 'data-metric': metric });
    lineChart(box, title, curves(runs, metric), { legend: false, log: metric === 'lr', xTitle: 'epoch', integerX: true, yTitle });
    return box;
  }));
  showDiff(runs);
  $('#show-same').onchange = () => showDiff(runs);
  $('#comparison').hidden = false;
  $('#compare-status').textContent = '';
}

const wanted = new Set((new URLSearchParams(location.search).get('runs') ?? '').split(',').filter(Boolean));
const runs = await listRuns();
fillRows($('#run-picker tbody'), runs.map((run) => [
  el('label', { class: 'pick' }, el('input', { type: 'checkbox', value: run.id, ...(wanted.has(run.id) ? { checked: '' } : {}) }),
    el('span', { class: 'visually-hidden', text: `Compare run ${run.id}` })),
  el('a', { href: `/runs/${run.id}`, text: run.id }),
  run.parent_run_id ? el('a', { href: `/runs/${run.parent_run_id}`, class: 'parent-link', text: run.parent_run_id }) : '—',
  run.dataset, run.kind, run.status, String(run.epochs_done),
  fixed(run.summary?.final_loss), new Date(run.created_at).toLocaleString(),
]));
$('#compare').addEventListener('click', () => compare(selectedIds()));
if (wanted.size >= 2) await compare([...wanted]);
document.body.dataset.ready = 'true';
