/** The learning-rate range test (tip 6 of docs/tips.md): a short sweep of exponentially growing rates, the loss at each, a suggestion. */

/**
 * Defaults of the sweep. 100 steps from 1e-5 to 1 cover Adam's useful range; the smoothing is an EMA of the step
 * losses (one batch each, so noisy); the sweep ends early once the loss diverged (see divergenceIndex), since every
 * later point only measures an exploded model.
 */
export const LR_RANGE_DEFAULTS = Object.freeze({
  minLr: 1e-5,
  maxLr: 1,
  steps: 100,
  smoothing: 0.9,
  divergeFactor: 4,
  riseFactor: 1.5,
  skipStart: 5,   // the first smoothed points still lean on the EMA's bias correction: no slope is read there
});

/** The rate of each step: minLr · (maxLr / minLr)^(i / (steps − 1)), i = 0 … steps − 1. */
export function sweepRates({ minLr, maxLr, steps } = LR_RANGE_DEFAULTS) {
  if (!(minLr > 0 && maxLr > minLr)) throw new Error(`the sweep needs 0 < minLr < maxLr, got ${minLr} and ${maxLr}`);
  if (!(Number.isInteger(steps) && steps >= 2)) throw new Error(`the sweep needs at least 2 steps, got ${steps}`);
  const ratio = maxLr / minLr;
  return Array.from({ length: steps }, (_, i) => minLr * ratio ** (i / (steps - 1)));
}

/** Exponential moving average with bias correction, so the first points are not pulled towards 0. */
export function smoothLosses(losses, beta = LR_RANGE_DEFAULTS.smoothing) {
  let average = 0;
  return losses.map((loss, i) => {
    average = beta * average + (1 - beta) * loss;
    return average / (1 - beta ** (i + 1));
  });
}

/**
 * The index where the smoothed loss first diverged; -1 if never. Diverged means not finite, or above `divergeFactor`
 * × its best so far (the usual rule), or, from `skipStart` on, above `riseFactor` × where it started. The second rule
 * is for bounded losses: a saturated softmax cross-entropy tops out near 16 × the error rate (tfjs clips
 * probabilities at 1e-7), so a model whose best loss is near 1 can explode without ever reaching 4 × its best;
 * a loss well above the untrained model's is divergence all the same.
 */
export function divergenceIndex(smoothed, options = {}) {
  const { divergeFactor, riseFactor, skipStart } = { ...LR_RANGE_DEFAULTS, ...options };
  let best = Infinity;
  for (let i = 0; i < smoothed.length; i++) {
    if (!Number.isFinite(smoothed[i]) || smoothed[i] > divergeFactor * best) return i;
    if (i >= skipStart && smoothed[i] > riseFactor * smoothed[0]) return i;
    best = Math.min(best, smoothed[i]);
  }
  return -1;
}

/**
 * Reads the sweep: `points` are [{lr, loss}] in sweep order. The suggestion is the rate where the smoothed loss
 * falls fastest per decade of lr (the steepest negative slope against log10 lr), searched only before the smoothed
 * minimum: past it the loss is already turning up. Returns {suggested_lr, min_loss_lr, diverged_at_lr, points:
 * [{lr, loss, smoothed}], reason}; suggested_lr is null, with the reason, when the loss never fell.
 */
export function suggestLr(points, options = {}) {
  const { smoothing, skipStart } = { ...LR_RANGE_DEFAULTS, ...options };
  const smoothed = smoothLosses(points.map((p) => p.loss), smoothing);
  const diverged = divergenceIndex(smoothed, options);
  const usable = diverged === -1 ? smoothed.length : diverged;
  const out = points.map((p, i) => ({ lr: p.lr, loss: p.loss, smoothed: Number.isFinite(smoothed[i]) ? smoothed[i] : null }));
  const result = { suggested_lr: null, min_loss_lr: null, diverged_at_lr: diverged === -1 ? null : points[diverged].lr, points: out };
  if (usable < 3) return { ...result, reason: 'the loss diverged at once: start the sweep at a lower rate' };
  let minIndex = 0;
  for (let i = 1; i < usable; i++) if (smoothed[i] < smoothed[minIndex]) minIndex = i;
  result.min_loss_lr = points[minIndex].lr;
  let steepest = null;
  let steepestSlope = 0;
  // Central differences: the slope belongs to point i itself, not to the gap after it.
  for (let i = Math.max(1, Math.min(skipStart, minIndex - 1)); i < minIndex; i++) {
    const slope = (smoothed[i + 1] - smoothed[i - 1]) / (Math.log10(points[i + 1].lr) - Math.log10(points[i - 1].lr));
    if (slope < steepestSlope) {
      steepestSlope = slope;
      steepest = i;
    }
  }
  if (steepest === null) return { ...result, reason: 'the loss never fell during the sweep: check the data and the loss before tuning the rate' };
  return {
    ...result,
    suggested_lr: points[steepest].lr,
    reason: `steepest fall of the smoothed loss (${steepestSlope.toFixed(3)} per decade of lr); lowest loss at lr ${formatLr(points[minIndex].lr)}`,
  };
}

export const formatLr = (lr) => Number(lr.toPrecision(2)).toExponential();

/**
 * Runs the sweep on a Trainer made for it (by `makeTrainer(onStep)`: a throwaway model, readEvery 1, enough epochs)
 * and its LrController: each step trains at the next rate, and the sweep stops once the loss diverged.
 * Returns suggestLr's result plus {steps_run}.
 */
export async function runLrRangeTest(makeTrainer, options = {}) {
  const settings = { ...LR_RANGE_DEFAULTS, ...options };
  const rates = sweepRates(settings);
  const points = [];
  const trainer = await makeTrainer((info) => {
    if (info.loss === null) return;
    points.push({ lr: rates[points.length], loss: info.loss });
    const smoothed = smoothLosses(points.map((p) => p.loss), settings.smoothing);
    const done = points.length >= rates.length || divergenceIndex(smoothed, settings) !== -1;
    if (done) trainer.stop();
    else trainer.lr.set(rates[points.length], 'lr range test');
  });
  trainer.lr.set(rates[0], 'lr range test');
  await trainer.run();
  return { ...suggestLr(points, settings), steps_run: points.length, min_lr: settings.minLr, max_lr: settings.maxLr };
}
