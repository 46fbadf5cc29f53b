/** Which items train and which validate (a stratified, seeded split), and the per-epoch shuffle order. */
import { createRandom, deriveSeed, shuffled } from './random.js';
import { RUN_DEFAULTS } from '../shared_rules.js';

const byLabel = (item) => item.label;

/** The seed of a run's validation split: `splitSeed`, or `seed` for runs recorded before the two were apart. */
export const splitSeedOf = (config) => config.splitSeed ?? config.seed;

/**
 * Splits items into {train, val} per class so that every class keeps its share in validation.
 * A class with at least 2 items gets at least 1 in val and keeps at least 1 in train (when valFraction > 0);
 * a class with 1 item stays in train, since validating on a class the model never saw only measures the split.
 * The result is the same for the same items in the same order and the same seed; within train and val the
 * items keep their input order, so a diff of two splits reads naturally.
 */
export function splitItems(items, { valFraction = RUN_DEFAULTS.valFraction, seed = 0, stratifyBy = byLabel } = {}) {
  if (!(valFraction >= 0 && valFraction < 1)) {
    throw new Error(`valFraction must be in [0, 1), got ${valFraction}`);
  }
  const positionsByClass = new Map();
  items.forEach((item, position) => {
    const key = stratifyBy(item);
    if (!positionsByClass.has(key)) positionsByClass.set(key, []);
    positionsByClass.get(key).push(position);
  });

  const random = createRandom(deriveSeed(seed, 'split'));
  const inVal = new Uint8Array(items.length);
  for (const positions of positionsByClass.values()) {
    const count = positions.length;
    if (count < 2 || valFraction === 0) continue;
    const valCount = Math.min(count - 1, Math.max(1, Math.round(count * valFraction)));
    for (const position of shuffled(positions, random).slice(0, valCount)) inVal[position] = 1;
  }

  const train = [];
  const val = [];
  items.forEach((item, position) => (inVal[position] ? val : train).push(item));
  return { train, val };
}

/** The visiting order of n training items in one epoch: a permutation of 0..n-1, new each epoch, reproducible. */
export function epochOrder(n, seed, epoch) {
  return shuffled(Array.from({ length: n }, (_, i) => i), deriveSeed(seed, 'epoch', epoch));
}
