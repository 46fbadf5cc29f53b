/** Tip 15 as a tool: time a few training steps per candidate batch size on this device and backend, pick the fastest. */
import { tf } from '../tf.js';

/**
 * The finder's defaults. The first step of a new batch shape compiles shaders (2–4 s on WebGL), so it is timed
 * apart and left out of the rate; a second untimed step runs under tf.profile to read the step's peak tensor bytes.
 * Then rounds of `timedSteps` steps are timed until `minTimedMs` have passed (a few steps of a small batch take
 * too little time to measure apart from the noise) or `maxRounds` ran.
 * A candidate fits when its steps run, its loss is finite and that peak stays within the budget.
 */
export const FINDER_DEFAULTS = Object.freeze({
  candidates: Object.freeze([8, 16, 24, 32, 48, 64]),
  timedSteps: 5,
  minTimedMs: 400,
  maxRounds: 20,
  memoryBudgetBytes: 1024 ** 3,
});

/** The fastest candidate that fits (images per second), or null when none did. */
export function chooseBatchSize(table) {
  const fitting = table.filter((row) => row.fits);
  if (!fitting.length) return null;
  return fitting.reduce((best, row) => (row.images_per_second > best.images_per_second ? row : best)).batch_size;
}

const errorText = (err) => (err instanceof Error ? err.message : String(err));

/**
 * Measures each candidate in increasing order with `runStep(batchSize)`, which must run one real training step and
 * return its loss as a scalar tensor (the finder reads and disposes it). Once a candidate does not fit, larger
 * ones are not tried. Returns {batch_size, table: [{batch_size, fits, images_per_second, ms_per_step, timed_steps,
 * first_step_ms, peak_bytes, error}], reason}. `now` and `yieldFn` are injectable for tests.
 */
export async function findBatchSize(runStep, options = {}) {
  const { candidates, memoryBudgetBytes, ...timing } = { ...FINDER_DEFAULTS, ...options };
  const now = options.now ?? (() => globalThis.performance.now());
  const yieldFn = options.yieldFn ?? (() => new Promise((resolve) => setTimeout(resolve, 0)));
  const onRow = options.onRow ?? null;
  const table = [];
  let tooBig = null;
  for (const batchSize of [...candidates].sort((a, b) => a - b)) {
    const row = { batch_size: batchSize, fits: false, images_per_second: null, ms_per_step: null, timed_steps: 0,
      first_step_ms: null, peak_bytes: null, error: null };
    if (tooBig !== null) {
      row.error = `not tried: batch size ${tooBig} did not fit`;
    } else {
      try {
        Object.assign(row, await measure(runStep, batchSize, timing, now));
        if (row.peak_bytes > memoryBudgetBytes) {
          row.error = `a step peaks at ${row.peak_bytes.toLocaleString('en')} tensor bytes, over the budget of ${memoryBudgetBytes.toLocaleString('en')}`;
        } else {
          row.fits = true;
        }
      } catch (err) {
        row.error = errorText(err);
      }
      if (!row.fits) tooBig = batchSize;
    }
    table.push(row);
    onRow?.(row);
    await yieldFn();
  }
  const chosen = chooseBatchSize(table);
  const best = table.find((row) => row.batch_size === chosen);
  return {
    batch_size: chosen,
    table,
    reason: chosen === null
      ? 'no candidate batch size could train here'
      : `fastest of the sizes that fit: ${best.images_per_second.toFixed(1)} images/s (shader compiles excluded)`,
  };
}

async function readLoss(loss) {
  try {
    const value = (await loss.data())[0];
    if (!Number.isFinite(value)) throw new Error(`the loss is ${value}`);
    return value;
  } finally {
    loss.dispose();
  }
}

async function measure(runStep, batchSize, { timedSteps, minTimedMs, maxRounds }, now) {
  const firstStart = now();
  await readLoss(await runStep(batchSize));
  const firstStepMs = now() - firstStart;
  const profile = await tf.profile(async () => readLoss(await runStep(batchSize)));
  // Each round queues its steps like training does (no read per step, tip 17) and waits for its last loss only.
  const start = now();
  let steps = 0;
  for (let round = 0; round < maxRounds && (round === 0 || now() - start < minTimedMs); round++) {
    let last = null;
    for (let step = 0; step < timedSteps; step++) {
      const loss = await runStep(batchSize);
      if (last) last.dispose();
      last = loss;
    }
    await readLoss(last);
    steps += timedSteps;
  }
  const ms = (now() - start) / steps;
  return {
    images_per_second: (batchSize * 1000) / ms,
    ms_per_step: ms,
    timed_steps: steps,
    first_step_ms: firstStepMs,
    peak_bytes: profile.peakBytes,
  };
}
