/** Tip 15 of docs/tips.md as a tool: time a few training steps per candidate batch size on this device and backend, pick the fastest. */
import { tf } from '../tf.js';

/**
 * The finder's defaults. The first step of a new batch shape compiles shaders (2–4 s on WebGL), so it is timed
 * apart and left out of the rate; a second untimed step runs under tf.profile to read the step's peak tensor bytes.
 * Then rounds of `timedSteps` steps are timed one by one, at least `minRounds` of them and until `minTimedMs` have
 * passed (or `maxRounds` ran). The rate is the median round's: single timings on a shared machine swing by ±25%
 * (342–537 images/s in one sweep), and a median of rounds shrugs off the round a background task slowed.
 * A candidate fits when its steps run, its loss is finite and that peak stays within the budget.
 */
export const FINDER_DEFAULTS = Object.freeze({
  candidates: Object.freeze([8, 16, 24, 32, 48, 64]),
  timedSteps: 3,
  minRounds: 5,
  minTimedMs: 600,
  maxRounds: 20,
  memoryBudgetBytes: 1024 ** 3,
});

/** The value at quantile q (0..1) of `values`, linearly interpolated. */
export function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (at - lo);
}

/** The fastest candidate that fits (median images per second), or null when none did. */
export function chooseBatchSize(table) {
  const fitting = table.filter((row) => row.fits);
  if (!fitting.length) return null;
  return fitting.reduce((best, row) => (row.images_per_second > best.images_per_second ? row : best)).batch_size;
}

/**
 * How sure the choice is: the winner's lead over the runner-up against the noise of both (half their interquartile
 * range of round rates, relative to the median). Sure when the lead exceeds that noise.
 * Returns {runner_up, lead, noise, sure} (runner_up null when only one size fits).
 */
export function choiceConfidence(table, chosen) {
  const fitting = table.filter((row) => row.fits).sort((a, b) => b.images_per_second - a.images_per_second);
  const best = fitting.find((row) => row.batch_size === chosen);
  const second = fitting.find((row) => row.batch_size !== chosen);
  if (!best || !second) return { runner_up: null, lead: null, noise: best?.spread ?? null, sure: Boolean(best) };
  const lead = best.images_per_second / second.images_per_second - 1;
  const noise = Math.max(best.spread ?? 0, second.spread ?? 0);
  return { runner_up: second.batch_size, lead, noise, sure: lead > noise };
}

const pct = (x) => `${(100 * x).toFixed(0)}%`;

function describeChoice(best, confidence) {
  const rate = `${best.images_per_second.toFixed(1)} images/s (median of ${best.rounds} timed rounds, ±${pct(best.spread)}; shader compiles excluded)`;
  if (confidence.runner_up === null) return `the only size that fits: ${rate}`;
  const versus = `${pct(confidence.lead)} ahead of batch ${confidence.runner_up}`;
  return confidence.sure
    ? `fastest of the sizes that fit: ${rate}; ${versus}, more than the ±${pct(confidence.noise)} noise`
    : `fastest of the sizes that fit: ${rate}; but only ${versus}, within the ±${pct(confidence.noise)} noise: either will do`;
}

const errorText = (err) => (err instanceof Error ? err.message : String(err));

/**
 * Measures each candidate in increasing order with `runStep(batchSize)`, which must run one real training step and
 * return its loss as a scalar tensor (the finder reads and disposes it). Once a candidate does not fit, larger
 * ones are not tried. Returns {batch_size, table: [{batch_size, fits, images_per_second (median round), ms_per_step,
 * timed_steps, rounds, round_rates, spread (half the interquartile range / median), first_step_ms, peak_bytes,
 * error}], confidence (choiceConfidence), reason}. `now` and `yieldFn` are injectable for tests.
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
      rounds: 0, spread: null, round_rates: [], first_step_ms: null, peak_bytes: null, error: null };
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
  const confidence = choiceConfidence(table, chosen);
  return {
    batch_size: chosen,
    table,
    confidence,
    reason: chosen === null ? 'no candidate batch size could train here' : describeChoice(best, confidence),
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

async function measure(runStep, batchSize, { timedSteps, minRounds, minTimedMs, maxRounds }, now) {
  const firstStart = now();
  await readLoss(await runStep(batchSize));
  const firstStepMs = now() - firstStart;
  const profile = await tf.profile(async () => readLoss(await runStep(batchSize)));
  // Each round queues its steps like training does (no read per step, tip 17) and waits for its last loss only.
  const start = now();
  const roundMs = [];
  while (roundMs.length < maxRounds && (roundMs.length < minRounds || now() - start < minTimedMs)) {
    const roundStart = now();
    let last = null;
    for (let step = 0; step < timedSteps; step++) {
      const loss = await runStep(batchSize);
      if (last) last.dispose();
      last = loss;
    }
    await readLoss(last);
    roundMs.push((now() - roundStart) / timedSteps);
  }
  const rates = roundMs.map((ms) => (batchSize * 1000) / ms);
  const median = quantile(rates, 0.5);
  return {
    images_per_second: median,
    ms_per_step: quantile(roundMs, 0.5),
    timed_steps: roundMs.length * timedSteps,
    rounds: roundMs.length,
    round_rates: rates,
    spread: (quantile(rates, 0.75) - quantile(rates, 0.25)) / 2 / median,
    first_step_ms: firstStepMs,
    peak_bytes: profile.peakBytes,
  };
}
