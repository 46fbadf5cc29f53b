/** Results of the batch-size finder and the LR range test: a chart, a table, and a button to use the proposal. */
import { formatLr } from '../train/lr_range.js';
import { lineChart } from './chart.js';
import { bytes, el, fillRows, fixed } from './dom.js';
import { showResultPanel } from './result_panels.js';

function chartBox() {
  return el('figure', { class: 'chart' });
}

/** The finder's table and images/s chart; `onUse(batchSize)` fills the form. */
export function renderFinder(container, found, onUse) {
  const chart = chartBox();
  const fitting = found.table.filter((row) => row.fits);
  lineChart(chart, 'Images / s by batch size (shader compiles excluded)',
    { 'images/s': fitting.map((row) => [row.batch_size, row.images_per_second]) }, { markX: found.batch_size, legend: false, xTitle: 'batch size', yTitle: 'images per second', integerX: true });
  const table = el('table', { class: 'list', id: 'finder-table' },
    el('thead', {}, el('tr', {}, ...['Batch', 'Images / s (median)', 'Spread', 'Rounds', 'ms / step', 'First step (compile) ms',
      'Peak tensor memory', 'Fits'].map((text) => el('th', { text })))), el('tbody'));
  fillRows(table.querySelector('tbody'), found.table.map((row) => [
    String(row.batch_size), fixed(row.images_per_second, 1), row.spread === null || row.spread === undefined ? '–' : `±${(100 * row.spread).toFixed(0)}%`,
    String(row.rounds ?? '–'), fixed(row.ms_per_step, 1), fixed(row.first_step_ms, 0),
    row.peak_bytes === null ? '–' : bytes(row.peak_bytes), row.fits ? 'yes' : `no: ${row.error}`,
  ]));
  const verdict = found.batch_size === null
    ? el('p', { class: 'error', text: found.reason })
    : el('p', { id: 'finder-choice' }, `Proposed batch size: `, el('b', { text: String(found.batch_size) }), ` — ${found.reason}. `,
      el('button', { type: 'button', class: 'secondary', onclick: () => onUse(found.batch_size), text: `Use ${found.batch_size}` }));
  showResultPanel('#tool-output');
  container.replaceChildren(el('h3', { text: 'Batch-size finder' }), verdict, el('div', { class: 'charts' }, chart), el('div', { class: 'table-scroll' }, table));
}

/** Loss against learning rate (log axis) with the suggestion marked; `onUse(lr)` fills the form. */
export function renderRangeTest(container, range, onUse) {
  const chart = chartBox();
  lineChart(chart, `Loss vs learning rate (batch ${range.batch_size})`, {
    loss: range.points.map((p) => [p.lr, p.loss]),
    smoothed: range.points.map((p) => [p.lr, p.smoothed]),
  }, { logX: true, log: true, markX: range.suggested_lr, xTitle: 'learning rate (log scale)', yTitle: 'loss (log scale)' });
  const verdict = range.suggested_lr === null
    ? el('p', { class: 'error', text: range.reason })
    : el('p', { id: 'range-choice' }, 'Suggested learning rate: ', el('b', { text: formatLr(range.suggested_lr) }),
      ` — ${range.reason}${range.diverged_at_lr ? `; the loss diverged at ${formatLr(range.diverged_at_lr)}` : ''}. `,
      el('button', { type: 'button', class: 'secondary', onclick: () => onUse(Number(formatLr(range.suggested_lr))), text: 'Use it' }));
  showResultPanel('#tool-output');
  container.replaceChildren(el('h3', { text: 'Learning-rate range test' }), verdict, el('div', { class: 'charts' }, chart));
}
