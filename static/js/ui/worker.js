/**
 * Worker page: probes this device, registers with the queue and trains its jobs (worker/loop.js) with the train
 * page's own session (worker/job.js). `globalThis.browsertrainWorker` and the body's data-worker-* attributes mirror
 * the state for `browsertrain worker` and the tests.
 */
import * as api from '../api.js';
import { BACKENDS } from '../train/backend.js';
import { probeDevice } from '../worker/device.js';
import { trainJob } from '../worker/job.js';
import { WorkerLoop } from '../worker/loop.js';
import { $, el, fixed } from './dom.js';

const MAX_LOG_LINES = 200;
const params = new URLSearchParams(location.search);
const backend = params.get('backend') ?? 'auto';
const maxJobs = params.has('maxJobs') ? Number(params.get('maxJobs')) : null;
const name = params.get('name') || `tab-${Math.random().toString(16).slice(2, 6)}`;

/** What scripts read: state, worker id, the current run, the jobs this tab is done with, the log. */
const mirror = { state: 'probing', name, workerId: null, device: null, job: null, jobsDone: 0, results: [],
  offlineSince: null, log: [], error: null };
globalThis.browsertrainWorker = mirror;

const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });
const stat = (label, value) => el('div', { class: 'stat' }, label, el('b', { text: value }));

function log(text) {
  const line = `${clock(Date.now())} ${text}`;
  mirror.log.push(line);
  if (mirror.log.length > MAX_LOG_LINES) mirror.log.shift();
  const list = $('#worker-log');
  list.append(el('li', { text: line }));
  while (list.children.length > MAX_LOG_LINES) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

const STATE_TEXT = {
  probing: 'Probing this device…', registering: 'Registering with the server…', waiting: 'Waiting for a job',
  training: 'Training', stopped: 'Stopped', error: 'Stopped by an error',
};

function showState(state, offlineSince) {
  mirror.state = state;
  mirror.offlineSince = offlineSince ?? null;
  document.body.dataset.workerState = state;
  $('#worker-state').textContent = state === 'offline'
    ? `Offline since ${clock(offlineSince)}${mirror.job ? ', training on' : ', trying again'}`
    : `${STATE_TEXT[state] ?? state}${state === 'training' && mirror.job ? ` run ${mirror.job.run_id}` : ''}`;
  const banner = $('#worker-offline');
  banner.hidden = state !== 'offline';
  banner.textContent = state === 'offline' ? `offline since ${clock(offlineSince)}, training on` : '';
}

function showDevice(device, reason) {
  $('#worker-device').replaceChildren(
    stat('Backend', device.backend), stat('Backends that work', device.backends.join(', ') || 'none'),
    el('div', { class: 'stat renderer' }, 'GPU', el('b', { text: device.gpu_renderer ?? 'none reported' })),
    stat('Images / s (probe)', fixed(device.images_per_second, 0)));
  $('#worker-device').title = reason;
}

/** The current job's panel: run link, dataset, epoch x/y, loss. */
const jobView = { epoch: 0, epochs: null, loss: null };
function showJob() {
  const { job } = mirror;
  $('#worker-idle').hidden = Boolean(job);
  $('#worker-job').hidden = !job;
  document.body.dataset.job = job?.run_id ?? '';
  if (!job) return;
  $('#worker-job').replaceChildren(
    el('div', { class: 'stat' }, 'Run', el('b', {}, el('a', { href: `/runs/${job.run_id}`, text: job.run_id }))),
    stat('Dataset', job.dataset), stat('Epoch', `${jobView.epoch} / ${jobView.epochs ?? '?'}`),
    stat('Train loss', fixed(jobView.loss)), stat('Attempt', String(job.attempt ?? 1)));
}

const sessionHooks = {
  onConfig: (config) => { jobView.epochs = config.epochs; showJob(); },
  onEpoch: (record) => {
    jobView.epoch = record.epoch + 1;
    jobView.loss = record.train_loss;
    showJob();
  },
  // While the server is away the reporter warns at every epoch; the offline line says it once.
  onWarning: (text) => { if (loop.offlineSince === null) log(`warning: ${text}`); },
  onLeak: (leak) => log(`the leak watchdog paused the run: ${leak.message}`),
};

/**
 * The backend a job trains on: a worker started with one backend offers only that one; on 'auto', a job that leaves
 * the choice to the device gets the one the probe chose (no second probe per job), and a job that names one gets it.
 */
function backendFor(job) {
  const wanted = job.config?.backend ?? 'auto';
  return backend !== 'auto' || wanted === 'auto' ? mirror.device.backend : 'auto';
}

const loop = new WorkerLoop({
  queue: { register: api.registerWorker, claim: api.claimJob, heartbeat: api.heartbeat, complete: api.completeJob },
  train: (job) => trainJob(job, { backend: backendFor(job), hooks: sessionHooks }),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  name,
  device: null,
  maxJobs,
}, {
  onState: showState,
  onLog: log,
  onRegistered: (workerId) => {
    mirror.workerId = workerId;
    document.body.dataset.workerId = workerId;
  },
  onJob: (job) => {
    mirror.job = job ? { run_id: job.run_id, job_id: job.id, dataset: job.dataset, attempt: job.attempt } : null;
    Object.assign(jobView, { epoch: 0, epochs: job?.config?.epochs ?? null, loss: null });
    showJob();
    showState(loop.state, loop.offlineSince);
  },
  onResult: (result) => {
    mirror.results.push({ ...result, summary: result.summary && { epochs: result.summary.epochs,
      val_accuracy: result.summary.val_accuracy ?? null, final_loss: result.summary.final_loss ?? null } });
    mirror.jobsDone = loop.jobsDone;
    document.body.dataset.jobsDone = String(loop.jobsDone);
    $('#worker-done').textContent = String(loop.jobsDone);
  },
});

async function start() {
  $('#worker-name').textContent = name;
  document.body.dataset.workerState = 'probing';
  document.body.dataset.jobsDone = '0';
  if (backend !== 'auto' && !BACKENDS.includes(backend)) throw new Error(`backend must be auto or one of ${BACKENDS.join(', ')}`);
  if (maxJobs !== null && !(Number.isInteger(maxJobs) && maxJobs >= 1)) throw new Error('maxJobs must be a whole number, 1 or more');
  log(`probing this device (${backend})`);
  const { device, reason } = await probeDevice(backend);
  mirror.device = device;
  loop.device = device;
  showDevice(device, reason);
  log(`device: ${device.backend}, ${fixed(device.images_per_second, 0)} images/s in the probe`);
  await loop.run();
}

globalThis.browsertrainWorkerControls = { stop: () => loop.stop(), snapshot: () => loop.training?.snapshot?.() };
start().catch((err) => {
  mirror.error = err.message;
  log(`error: ${err.message}`);
  showState('error', null);
  console.error(err);
});
