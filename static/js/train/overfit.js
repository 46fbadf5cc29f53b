/** Tip 12 of docs/tips.md as a tool: overfit a tiny subset first; a model that cannot memorise 16 images points at a bug. */
import { createRandom, deriveSeed, shuffled } from '../data/random.js';
import { predictItems } from '../model/evaluate.js';
import { MAX_OVERFIT_IMAGES } from '../shared_rules.js';
import { TrainingSession } from './session.js';

export { MAX_OVERFIT_IMAGES };  // the cap `browsertrain train --overfit` holds to as well (static/shared_rules.json)
export const OVERFIT_DEFAULT_IMAGES = 16;
/** "Near zero": the mean cross-entropy at which the images count as memorised (a mean probability of ~0.99). */
export const OVERFIT_TARGET_LOSS = 0.01;
/** One step per epoch (the batch is the whole subset): the reference CNN needs ~75 on the sample; 300 is ample. */
export const OVERFIT_MAX_EPOCHS = 300;
/**
 * Giving up early: when the best loss fell by less than OVERFIT_STALL_GAIN (relative) over the last
 * OVERFIT_STALL_EPOCHS epochs, more epochs will not get it to the target. The reference CNN leaves its ln(3)
 * plateau within ~20 epochs on the sample, so a healthy run never trips this.
 */
export const OVERFIT_STALL_EPOCHS = 60;
export const OVERFIT_STALL_GAIN = 0.01;

/**
 * What "memorised" means per task: an epoch record's field and its target. A detector is judged by its boxes: YOLO
 * v2's objectness target is the predicted box's own IoU, so its loss RISES as the boxes improve (on 16 faces: 3.0 →
 * 5.4 while the mean IoU went 0.44 → 0.85). Landmarks by their NME: their MSE is tiny from the start (0.0099 after 3
 * epochs is points 10% of the image off).
 */
export const OVERFIT_GOALS = Object.freeze({
  classification: Object.freeze({ field: 'train_loss', name: 'loss', target: OVERFIT_TARGET_LOSS, higherIsBetter: false }),
  landmarks: Object.freeze({ field: 'train_nme', name: 'NME', target: 0.01, higherIsBetter: false }),
  detection: Object.freeze({ field: 'train_iou', name: 'mean IoU', target: 0.8, higherIsBetter: true }),
});
const goalOf = (task) => OVERFIT_GOALS[task] ?? OVERFIT_GOALS.classification;

/**
 * `count` items from `items` ({index, label}), the classes taking turns so each is present, each class's items in
 * a seeded random order. Returned in input order.
 */
export function overfitSubset(items, count, seed) {
  const byLabel = new Map();
  for (const item of items) {
    if (!byLabel.has(item.label)) byLabel.set(item.label, []);
    byLabel.get(item.label).push(item);
  }
  const random = createRandom(deriveSeed(seed, 'overfit'));
  const queues = [...byLabel.values()].map((group) => shuffled(group, random));
  const chosen = new Set();
  for (let round = 0; chosen.size < Math.min(count, items.length); round++) {
    for (const queue of queues) if (round < queue.length && chosen.size < count) chosen.add(queue[round]);
  }
  return items.filter((item) => chosen.has(item));
}

/** The verdict in the words the page shows; `converged` false is the finding that matters. */
export function overfitMessage({ converged, images, epochs, finalLoss, correct, targetLoss, stalled = false, goal = null }) {
  const name = goal?.name ?? 'loss';
  const loss = finalLoss === null ? `no ${name}` : `${name} ${finalLoss.toFixed(4)}`;
  const right = correct === null ? '' : `, ${correct}/${images} predicted right`;  // null: boxes or points, not classes
  if (converged) {
    return `The model memorised ${images} images: ${loss} after ${epochs} epochs${right}. `
      + 'The data and the loss can learn; train on everything next.';
  }
  return `The model could NOT overfit ${images} images: ${loss} after ${epochs} epochs`
    + `${stalled ? `, no longer ${goal?.higherIsBetter ? 'rising' : 'falling'}` : ''} (target ${targetLoss}), `
    + `${right.slice(2) || `judged by the ${name}`}. A model this size should memorise a handful of images easily, so look for `
    + 'a bug in the data (labels that do not match the images, broken preprocessing) or in the loss.';
}

/**
 * A sanity run (kind 'sanity'): trains on `images` items of the dataset, all in one batch, at a fixed rate and
 * without augmentation, until its task's goal is met (OVERFIT_GOALS: a classifier's training loss below
 * OVERFIT_TARGET_LOSS; boxes' mean IoU, points' NME), or that stalls, or OVERFIT_MAX_EPOCHS
 * pass), then predicts those images. The summary's reason is 'converged' or 'not_converged' (or 'stopped'/'nan').
 */
export class OverfitSession extends TrainingSession {
  constructor({ dataset, config = {}, images = OVERFIT_DEFAULT_IMAGES }, hooks = {}) {
    if (!(Number.isInteger(images) && images >= 1 && images <= MAX_OVERFIT_IMAGES)) {
      throw new Error(`overfit takes 1 to ${MAX_OVERFIT_IMAGES} images, got ${images}`);
    }
    super({
      dataset,
      kind: 'sanity',
      config: {
        ...config, batchSize: images, epochs: OVERFIT_MAX_EPOCHS, valFraction: 0, lrSchedule: false, augment: {},
        snapshotEvery: OVERFIT_MAX_EPOCHS, overfit: { images, targetLoss: OVERFIT_TARGET_LOSS },
      },
    }, hooks);
    this.images = images;
    this.bestLosses = [];  // the best training loss after each epoch
  }

  subset(split) {
    const all = [...split.train, ...split.val].sort((a, b) => a.index - b.index);
    return { train: overfitSubset(all, this.images, this.config.seed), val: [] };
  }

  /** A sanity run's verdict is its own (converged or not): the not-learning checks are for plain runs. */
  diagnose() {
    return [];
  }

  endAfter(record) {
    const goal = goalOf(this.config?.task);
    const value = record[goal.field];
    if (Number.isFinite(value) && (goal.higherIsBetter ? value >= goal.target : value < goal.target)) return 'converged';
    // The stall test on the distance from perfect: the loss or NME itself, 1 − IoU for boxes.
    const distance = goal.higherIsBetter ? 1 - value : value;
    const best = Math.min(Number.isFinite(distance) ? distance : Infinity, this.bestLosses.at(-1) ?? Infinity);
    this.bestLosses.push(best);
    const before = this.bestLosses.at(-1 - OVERFIT_STALL_EPOCHS);
    return before !== undefined && best > before * (1 - OVERFIT_STALL_GAIN) ? 'not_converged' : null;
  }

  async conclude(summary, { model, task, inputs }) {
    const { train } = inputs.split;
    // A classifier also counts its right answers; boxes and points are judged by the goal alone (OVERFIT_GOALS).
    const predictions = task.name !== 'classification' ? [] : await predictItems({ model, task, count: train.length,
      batchSize: train.length, getBatch: inputs.reader(train), itemAt: inputs.itemOf(train), classes: inputs.data.classes });
    const correct = task.name !== 'classification' ? null : predictions.filter((p) => p.label === p.predicted).length;
    const converged = summary.reason === 'converged';
    const reason = summary.reason === 'done' ? 'not_converged' : summary.reason;
    const goal = goalOf(task.name);
    const reached = this.trainer?.history.at(-1)?.[goal.field] ?? null;
    const message = overfitMessage({ converged, images: train.length, epochs: summary.epochs,
      finalLoss: reached, correct, targetLoss: goal.target, stalled: summary.reason === 'not_converged', goal });
    return {
      ...summary,
      reason,
      train_accuracy: predictions.length ? correct / predictions.length : null,
      overfit: { images: train.length, target_loss: goal.target, goal: { metric: goal.field, target: goal.target },
        converged, message, predictions },
    };
  }
}
