/** The one module that talks to the server: same-origin relative URLs, JSON in and out, clear errors. */

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === 'string' ? detail : JSON.stringify(detail));
    this.status = status;
  }
}

/**
 * A queued run is written to only by the attempt that holds its job (docs/queue.md): after setAttempt(runId, token),
 * every write to that run carries the attempt's token, and the server refuses (409) a stale one.
 */
const ATTEMPT_HEADER = 'X-Browsertrain-Attempt';
const attempts = new Map();
export function setAttempt(runId, token) {
  if (token) attempts.set(runId, token);
  else attempts.delete(runId);
}
/** The headers a write to `runId` carries (tf.io.http's requestInit for snapshots takes them too). */
export function attemptHeaders(runId) {
  const token = attempts.get(runId);
  return token ? { [ATTEMPT_HEADER]: token } : {};
}
const runOf = (url) => /^\/api\/runs\/([0-9a-f]{12})(?:[/?]|$)/.exec(url)?.[1];

async function request(method, url, body) {
  const runId = method === 'GET' ? undefined : runOf(url);
  const init = { method, headers: runId ? attemptHeaders(runId) : {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail ?? detail; } catch { /* not JSON */ }
    throw new ApiError(response.status, detail);
  }
  return response.status === 204 ? null : response.json();
}

const enc = encodeURIComponent;

export const listDatasets = async () => (await request('GET', '/api/datasets')).datasets;
export const getManifest = (name) => request('GET', `/api/datasets/${enc(name)}`);
export const deleteDataset = (name) => request('DELETE', `/api/datasets/${enc(name)}`);
export const itemUrl = (name, id) => `/api/datasets/${enc(name)}/items/${id}`;
export const bulkUrl = (name, start, count) => `/api/datasets/${enc(name)}/bulk?start=${start}&count=${count}`;

export const listRuns = async (dataset) =>
  (await request('GET', dataset ? `/api/runs?dataset=${enc(dataset)}` : '/api/runs')).runs;
export const createRun = (body) => request('POST', '/api/runs', body);
export const getRun = (runId) => request('GET', `/api/runs/${enc(runId)}`);
export const updateRun = (runId, body) => request('PATCH', `/api/runs/${enc(runId)}`, body);
export const postEpoch = (runId, record) => request('POST', `/api/runs/${enc(runId)}/epochs`, record);
/** Where a snapshot at {epoch, step} is posted; step 0 (an epoch's start) is left out, as snapshots always were. */
export const snapshotUrl = (runId, epoch, step = 0) =>
  `/api/runs/${enc(runId)}/snapshots?epoch=${epoch}${step > 0 ? `&step=${step}` : ''}`;
export const latestModelUrl = (runId) => `/api/runs/${enc(runId)}/model.json`;

/** The job queue (docs/queue.md). A claim answers null when no job fits (204). */
export const enqueueJob = (body) => request('POST', '/api/queue/jobs', body);
export const listJobs = async (state) =>
  (await request('GET', state ? `/api/queue/jobs?state=${enc(state)}` : '/api/queue/jobs')).jobs;
export const setJobPriority = (jobId, priority) => request('PATCH', `/api/queue/jobs/${enc(jobId)}`, { priority });
export const cancelJob = (jobId) => request('POST', `/api/queue/jobs/${enc(jobId)}/cancel`);
export const completeJob = (jobId, body) => request('POST', `/api/queue/jobs/${enc(jobId)}/complete`, body);
export const registerWorker = (body) => request('POST', '/api/queue/workers', body);
export const listWorkers = async () => (await request('GET', '/api/queue/workers')).workers;
export const claimJob = async (workerId) => (await request('POST', `/api/queue/workers/${enc(workerId)}/claim`))?.job ?? null;
export const heartbeat = (workerId, body) => request('POST', `/api/queue/workers/${enc(workerId)}/heartbeat`, body);

const query = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== undefined));
/** What is built for a snapshot (sizes, gate numbers); builds nothing. */
export const exportSummary = (runId, params = {}) => request('GET', `/api/runs/${enc(runId)}/exports?${query(params)}`);
/** Build a group of formats ('tfjs' or 'tf') and its gate numbers; answers with the summary. */
export const buildExports = (runId, params = {}) => request('POST', `/api/runs/${enc(runId)}/exports?${query(params)}`);
export const exportUrl = (runId, params) => `/api/runs/${enc(runId)}/export?${query(params)}`;

/** Sweeps (docs/queue.md): a base config and a search space, one queued job per trial. */
export const createSweep = (body) => request('POST', '/api/sweeps', body);
export const listSweeps = async () => (await request('GET', '/api/sweeps')).sweeps;
export const getSweep = (sweepId) => request('GET', `/api/sweeps/${enc(sweepId)}`);

/** Upload a zip with progress (fetch has no upload progress, so XMLHttpRequest); `replace` swaps a same-named one. */
export function uploadDataset(file, name, onProgress, { replace = false } = {}) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    form.append('name', name);
    if (replace) form.append('replace', 'true');
    form.append('file', file);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/datasets');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress?.(e.loaded / e.total); };
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body?.detail ?? xhr.statusText));
    };
    xhr.onerror = () => reject(new ApiError(0, 'the connection to the server failed'));
    xhr.send(form);
  });
}
