/**
 * One claimed job trained with the train page's own session: the run goes on from its latest snapshot with its
 * optimizer state (a re-issued job resumes where the last attempt's snapshot left it), and every write to the run
 * carries this attempt's token (api.setAttempt), so a stale attempt cannot write.
 */
import * as api from '../api.js';
import { BACKENDS } from '../train/backend.js';
import { TrainingSession } from '../train/session.js';

/** The run's end as the session records it (train/session.js): a stop is 'stopped', a NaN loss 'failed'. */
const STATUS_OF_REASON = { stopped: 'stopped', nan: 'failed' };

/**
 * Starts training `job`. `backend`: 'auto' trains on what the run's config asks for; a named one is the only backend
 * the session may use (the worker's own, already probed). `hooks` are TrainingSession's (the page shows them).
 * Returns the loop's Training: {done (resolves to {status, error?, summary?}), stop(), progress()}.
 */
export function trainJob(job, { backend = 'auto', hooks = {} } = {}) {
  api.setAttempt(job.run_id, job.attempt_token);
  const progress = { epoch: 0, epochs: Number.isInteger(job.config?.epochs) ? job.config.epochs : null, images_per_second: null };
  let stopWanted = false;
  const session = new TrainingSession({ resumeRunId: job.run_id }, {
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
    onStep: (info) => {
      if (stopWanted) session.stop();  // a stop asked for before the loop started: the loop takes it now
      hooks.onStep?.(info);
    },
  });
  if (backend !== 'auto') session.excludedBackends = new Set(BACKENDS.filter((name) => name !== backend));
  const done = session.run().then(
    (summary) => ({ status: STATUS_OF_REASON[summary.reason] ?? 'finished', summary,
      ...(summary.reason === 'nan' ? { error: 'the loss became NaN' } : {}) }),
    (err) => ({ status: 'failed', error: err.message }),
  ).finally(() => api.setAttempt(job.run_id, null));
  return {
    done,
    stop: () => {
      stopWanted = true;
      session.stop();
    },
    progress: () => ({ ...progress }),
  };
}
