/**
 * Where a run starts. Three cases:
 *   fresh      a new run from a new model (no options);
 *   resume     the same run goes on from its latest snapshot (`resumeRunId`); only an unfinished run, since a
 *              finished run is a record that never changes;
 *   train more a NEW run continues another run's latest snapshot, weights and optimizer state (`fromRunId`), for
 *              `moreEpochs` more epochs, and names it as its parent.
 */
import * as api from '../api.js';
import { finishedMessage } from '../shared_rules.js';
import { resolveRunConfig } from './run_config.js';

export { finishedMessage };  // the server refuses a change to a finished run with the same words

/** "Train more" without a count trains this many more epochs. */
export const DEFAULT_MORE_EPOCHS = 10;

/**
 * Returns {run, parent, config, dataset, startEpoch, startStep, lrState, modelUrl}: `run` is the run to go on with
 * (resume) or null (a new one is created), `parent` the run continued (train more) or null; config and dataset are
 * null for a fresh run (the caller's own); startStep is the first step of startEpoch to train (a snapshot taken
 * mid-epoch); modelUrl is where the starting weights are (null: build a new model).
 */
export async function startingPoint({ resumeRunId = null, fromRunId = null, moreEpochs = null } = {}) {
  if (resumeRunId) {
    const run = await api.getRun(resumeRunId);
    if (run.status === 'finished') throw new Error(finishedMessage(run.id));
    // Without a snapshot yet (a reload before the first one), the same run starts over from epoch 0. A queued run's
    // config is stored as it was enqueued (docs/queue.md): what it leaves out takes a new run's defaults, and a config
    // the page wrote, already complete, comes back unchanged.
    return { run, parent: null, ...continuing(run, resolveRunConfig(run.config)) };
  }
  if (fromRunId) {
    const parent = await api.getRun(fromRunId);
    if (parent.kind !== 'train') throw new Error(`run ${parent.id} is a sanity check on a few images; train more from a plain run`);
    const last = parent.snapshots.at(-1);
    if (!last) throw new Error(`run ${parent.id} has no snapshot to start from yet`);
    const more = checkMoreEpochs(moreEpochs ?? DEFAULT_MORE_EPOCHS);
    const config = { ...parent.config, epochs: last.epoch + more };
    return { run: null, parent, ...continuing(parent, config) };
  }
  return { run: null, parent: null, config: null, dataset: null, startEpoch: 0, startStep: 0, lrState: null, modelUrl: null };
}

/**
 * Going on from `source`'s latest snapshot: its position (epoch, and step within it when taken mid-epoch), the
 * learning-rate state the last whole epoch before it left, its weights.
 */
function continuing(source, config) {
  const last = source.snapshots.at(-1);
  const startEpoch = last?.epoch ?? 0;
  const startStep = last?.step ?? 0;
  return {
    config, dataset: source.dataset, startEpoch, startStep,
    lrState: source.epochs.filter((e) => e.epoch < startEpoch).at(-1)?.lr_state ?? null,
    modelUrl: startEpoch > 0 || startStep > 0 ? api.latestModelUrl(source.id) : null,
  };
}

function checkMoreEpochs(value) {
  const more = Number(value);
  if (!(Number.isInteger(more) && more >= 1)) throw new Error(`train more needs a whole number of epochs (1 or more), got ${value}`);
  return more;
}
