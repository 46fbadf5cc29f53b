/**
 * One claimed job trained with the train page's own session: the run goes on from its latest snapshot with its
 * optimizer state (a re-issued job resumes where the last attempt's snapshot left it), and every write to the run
 * carries this attempt's token (api.setAttempt), so a stale attempt cannot write.
 */
import * as api from '../api.js';
import { BACKENDS } from '../train/backend.js';
import { TrainingSession } from '../train/session.js';
import { isOffline } from './loop.js';

/** The run's end as the session records it (train/session.js): a stop is 'stopped', a NaN loss 'failed'. */
const STATUS_OF_REASON = { stopped: 'stopped', nan: 'failed' };
/** While the server is away at a run's end, how often its last records are tried again. */
const RETRY_MS = 2000;

/** The train page's session, keeping hold of the run's reporter (the snapshot after the last epoch hands it over). */
class WorkerSession extends TrainingSession {
  async snapshot(model, reporter, position) {
    this.reporter = reporter;
    return super.snapshot(model, reporter, position);
  }
}

const pause = () => new Promise((resolve) => setTimeout(resolve, RETRY_MS));

/**
 * Training ended while the server was away, so the snapshot after the last epoch did not arrive: the model still
 * exists (this runs from onTrained), so it is sent once the server answers. If the server answers and still refuses
 * it (another attempt holds the run now), it is left.
 */
async function deliverOwedSnapshot(session, model) {
  const { reporter } = session;
  while (reporter && reporter.snapshotOwed !== null) {
    try {
      await api.getRun(reporter.runId);
    } catch (err) {
      if (!isOffline(err)) return;
      await pause();
      continue;
    }
    // Labelled with where the weights are now (a stop mid-epoch included), not where the failed one was taken.
    await session.snapshot(model, reporter, session.trainer?.position() ?? { epoch: reporter.snapshotOwed, step: 0 });
    if (reporter.snapshotOwed !== null) return;
  }
}

/**
 * A session that ended while the server was away could not send its last epochs or the run's end (the Reporter
 * tries once at the end). They are sent once the server answers, before the job is reported done: a run the server
 * still has as 'running' gets its end. A refusal (another attempt holds the run now) ends the trying.
 */
async function recordEnd(session, runId, status, summary) {
  for (;;) {
    try {
      if (session.reporter?.unsent.length && !(await session.reporter.flush())) throw new Error('the server is away');
      const run = await api.getRun(runId);
      if (run.status === 'running') await api.updateRun(runId, { status, summary });
      return;
    } catch (err) {
      if (!isOffline(err)) return;
      await pause();
    }
  }
}

/**
 * Starts training `job`. `backend`: 'auto' trains on what the run's config asks for; a named one is the only backend
 * the session may use (the worker's own, already probed). `hooks` are TrainingSession's (the page shows them).
 * Returns the loop's Training: {done (resolves to {status, error?, summary?}), stop(), progress(), snapshot()}.
 */
export function trainJob(job, { backend = 'auto', hooks = {} } = {}) {
  api.setAttempt(job.run_id, job.attempt_token);
  const progress = { epoch: 0, epochs: Number.isInteger(job.config?.epochs) ? job.config.epochs : null, images_per_second: null };
  let stopWanted = false;
  const session = new WorkerSession({ resumeRunId: job.run_id }, {
    ...hooks,
    onConfig: (config) => {
      progress.epochs = config.epochs;
      hooks.onConfig?.(config);
    },
    onEpoch: (record) => {
      progress.epoch = record.epoch + 1;
      progress.images_per_second = record.images_per_second ?? null;
      hooks.onEpoch?.(record);
    },
    onTrained: async (model, context) => {
      await deliverOwedSnapshot(session, model);
      await hooks.onTrained?.(model, context);
    },
    onStep: (info) => {
      if (stopWanted) session.stop();  // a stop asked for before the loop started: the loop takes it now
      hooks.onStep?.(info);
    },
  });
  if (backend !== 'auto') session.excludedBackends = new Set(BACKENDS.filter((name) => name !== backend));
  const done = session.run().then(
    (summary) => ({ status: STATUS_OF_REASON[summary.reason] ?? 'finished', summary,
      ...(summary.reason === 'nan' ? { error: 'the loss became NaN' } : {}) }),
    (err) => ({ status: 'failed', error: err.message, summary: { error: err.message } }),
  ).then(async (outcome) => {
    await recordEnd(session, job.run_id, outcome.status, outcome.summary);
    return outcome;
  }).finally(() => api.setAttempt(job.run_id, null));
  return {
    done,
    stop: () => {
      stopWanted = true;
      session.stop();
    },
    progress: () => ({ ...progress }),
    snapshot: () => session.askSnapshot(true),
  };
}
