/** Queue dashboard: jobs by state, the workers and what each trains, live; cancel a job, move its priority. */
import * as api from '../api.js';
import { $, el, fixed } from './dom.js';

const POLL_MS = 2000;
const JOB_STATES = ['queued', 'claimed', 'done', 'failed', 'cancelled', 'pruned'];
const ACTIVE = new Set(['queued', 'claimed']);

const since = (iso) => {
  const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  return seconds < 120 ? `${seconds} s ago` : new Date(iso).toLocaleTimeString();
};

/** Epochs done of the planned ones: what its worker last reported while it trains, else its run's record. */
function progressOf(job, run, progress) {
  const epochs = progress?.epochs ?? (Number.isInteger(job.config?.epochs) ? job.config.epochs : null);
  const done = progress?.epoch ?? run?.epochs_done ?? 0;
  const rate = progress?.images_per_second ? `, ${fixed(progress.images_per_second, 0)} img/s` : '';
  return `${epochs ? `${done} / ${epochs}` : done}${rate}`;
}

/** A change from a button, then a fresh view; a refusal (a job that ended meanwhile) is said, not thrown. */
async function act(work) {
  try {
    await work();
  } catch (err) {
    $('#queue-status').textContent = err.message;
    $('#queue-status').className = 'error';
  }
  await refresh();
}

function actions(job) {
  if (!ACTIVE.has(job.state)) return '';
  return el('span', {},
    el('button', { type: 'button', class: 'secondary', 'data-action': 'up', title: 'raise the priority',
      onclick: () => act(() => api.setJobPriority(job.id, job.priority + 1)), text: '+' }),
    el('button', { type: 'button', class: 'secondary', 'data-action': 'down', title: 'lower the priority',
      onclick: () => act(() => api.setJobPriority(job.id, job.priority - 1)), text: '−' }),
    el('button', { type: 'button', class: 'danger', 'data-action': 'cancel',
      onclick: () => act(() => api.cancelJob(job.id)), text: 'Cancel' }));
}

function showJobs(jobs, runs, workers) {
  const counts = Object.fromEntries(JOB_STATES.map((state) => [state, 0]));
  for (const job of jobs) counts[job.state] = (counts[job.state] ?? 0) + 1;
  $('#job-counts').replaceChildren(...Object.entries(counts).map(([state, n]) =>
    el('div', { class: 'stat', 'data-state': state }, state, el('b', { text: String(n) }))));
  $('#jobs-empty').hidden = jobs.length > 0;
  const runById = new Map(runs.map((run) => [run.id, run]));
  const progressByJob = new Map(workers.filter((w) => w.job_id).map((w) => [w.job_id, w.progress]));
  $('#jobs tbody').replaceChildren(...jobs.map((job) => {
    const cells = [
      el('a', { href: `/runs/${job.run_id}`, text: job.run_id }), job.dataset, job.state, String(job.priority),
      `${job.attempt} / ${job.max_attempts}`, job.worker_name ?? '', progressOf(job, runById.get(job.run_id), job.state === 'claimed' ? progressByJob.get(job.id) : null),
      job.sweep_id ? el('a', { href: `/sweeps/${encodeURIComponent(job.sweep_id)}`, text: job.sweep_id }) : '',
    ];
    const last = el('td', { class: 'actions' }, actions(job));
    if (job.last_error) last.prepend(el('span', { class: 'error', title: job.last_error, text: '⚠ ' }));
    return el('tr', { 'data-job': job.id, 'data-state': job.state }, ...cells.map((c) => el('td', {}, c)), last);
  }));
}

function showWorkers(workers, jobs) {
  $('#workers-empty').hidden = workers.length > 0;
  const runOf = new Map(jobs.map((job) => [job.id, job.run_id]));
  $('#workers tbody').replaceChildren(...workers.map((worker) => {
    const device = worker.device ?? {};
    const run = worker.job_id ? runOf.get(worker.job_id) ?? worker.job_id : null;
    const cells = [
      worker.name, device.backend ?? '', device.gpu_renderer ?? '', fixed(device.images_per_second, 0), worker.state,
      run ? el('a', { href: `/runs/${run}`, text: run }) : '', worker.last_seen_at ? since(worker.last_seen_at) : '',
    ];
    return el('tr', { 'data-worker': worker.id, 'data-state': worker.state }, ...cells.map((c) => el('td', {}, c)));
  }));
}

let timer = null;
async function refresh() {
  clearTimeout(timer);
  try {
    const [jobs, workers, runs] = await Promise.all([api.listJobs(), api.listWorkers(), api.listRuns()]);
    showJobs(jobs, runs, workers);
    showWorkers(workers, jobs);
    $('#queue-status').textContent = `Updated ${new Date().toLocaleTimeString()}; every ${POLL_MS / 1000} s.`;
    $('#queue-status').className = 'hint';
    document.body.dataset.ready = 'true';
  } catch (err) {
    $('#queue-status').textContent = `Could not reach the server: ${err.message}; trying again.`;
    $('#queue-status').className = 'error';
  }
  timer = setTimeout(refresh, POLL_MS);
}

await refresh();
