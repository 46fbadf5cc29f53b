/**
 * Sweep page (docs/queue.md, Sweeps): the trials live (every 2 s until the sweep is done), each numeric param against
 * the metric (a log axis for log ranges, evenly spaced ticks for listed values that are not numbers), and the best
 * trial marked and linked to its run's export.
 */
import { getSweep } from '../api.js';
import { $, el, fixed } from './dom.js';
import { scatterChart } from './scatter.js';

const POLL_MS = 2000;
const sweepId = $('#sweep-title').dataset.sweepId;

const shown = (value) => (typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(4)) : value);
const paramsText = (params) => Object.entries(params).map(([key, value]) => `${key}=${shown(value)}`).join(', ');

/** Each varied key and how to plot it: {key, log, categories (null: numbers), domain (a range's bounds)}. */
function plottedParams(space) {
  const listed = Object.entries({ ...space.grid, ...space.choice }).map(([key, values]) => ({
    key, log: false, categories: values.every((v) => typeof v === 'number') ? null : values, domain: [],
  }));
  const ranges = Object.entries(space.random).map(([key, range]) => ({ key, log: range.log, categories: null, domain: [range.low, range.high] }));
  return [...listed, ...ranges];
}

function showSummary(sweep) {
  const ended = sweep.trials.filter((t) => !['queued', 'claimed'].includes(t.status)).length;
  $('#sweep-summary').textContent = `${sweep.sampler} sweep on ${sweep.dataset}, pruner ${sweep.pruner}: `
    + `${sweep.status}, ${ended} of ${sweep.planned} trials ended (${sweep.trials.length} enqueued).`;
  const best = sweep.best;
  $('#best').hidden = !best;
  if (best) {
    $('#best-text').textContent = `Best: run ${best.run_id}, ${sweep.metric} ${fixed(best[sweep.metric], 3)} (${paramsText(best.params)}). `;
    $('#best-run').href = `/runs/${best.run_id}`;
    $('#best-export').href = `/runs/${best.run_id}/export`;
  }
}

function showTrials(sweep) {
  const bestId = sweep.best?.run_id;
  $('#trials tbody').replaceChildren(...sweep.trials.map((trial) => el('tr', { class: trial.run_id === bestId ? 'best' : '', 'data-run-id': trial.run_id },
    el('td', { text: String(trial.trial_number) }),
    el('td', {}, el('a', { href: `/runs/${trial.run_id}`, text: trial.run_id })),
    el('td', { text: paramsText(trial.params) }),
    el('td', { class: `trial-status ${trial.status}`, text: trial.status }),
    el('td', { text: String(trial.epochs_done) }),
    el('td', { text: fixed(trial[sweep.metric], 3) }))));
}

function showPlots(sweep) {
  const bestId = sweep.best?.run_id;
  $('#sweep-plots').replaceChildren(...plottedParams(sweep.space).map(({ key, log, categories, domain }) => {
    const box = el('figure', { class: 'chart', 'data-param': key });
    const points = sweep.trials.map((t) => ({
      x: t.params[key], y: t[sweep.metric], href: `/runs/${t.run_id}`, marked: t.run_id === bestId,
      title: `run ${t.run_id} (${t.status}): ${key}=${shown(t.params[key])}, ${sweep.metric} ${fixed(t[sweep.metric], 3)}`,
    })).filter((p) => p.y !== null && p.y !== undefined);
    scatterChart(box, key, points, { xTitle: log ? `${key} (log scale)` : key, yTitle: sweep.metric.replace('_', ' '), logX: log, categories, xDomain: domain });
    return box;
  }));
}

async function refresh() {
  let sweep;
  try {
    sweep = await getSweep(sweepId);
  } catch (error) {
    $('#sweep-error').textContent = `Could not read the sweep: ${error.message}`;
    $('#sweep-error').hidden = false;
    if (error.status === 404) return;
    setTimeout(refresh, POLL_MS);
    return;
  }
  $('#sweep-error').hidden = true;
  showSummary(sweep);
  showTrials(sweep);
  showPlots(sweep);
  document.body.dataset.sweepStatus = sweep.status;
  document.body.dataset.ready = 'true';
  if (sweep.status !== 'done') setTimeout(refresh, POLL_MS);
}

refresh();
