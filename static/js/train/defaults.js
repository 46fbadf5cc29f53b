/**
 * Run settings chosen from the dataset when the user leaves them on 'auto': input size, batch size, epochs and
 * augmentation, each with the reason it was chosen (shown on the train page, in the CLI's --json, in the run config).
 */

import { mirrorPairs } from '../data/augment_geometry.js';
import { PLATEAU_DEFAULTS } from './schedule.js';

/** The settings that may be 'auto'; anything the user sets explicitly is kept as given. */
export const AUTO = 'auto';
export const AUTO_KEYS = Object.freeze(['task', 'inputSize', 'batchSize', 'epochs', 'augment']);

/** Input size: the images' own median side, to a multiple of 8, within these bounds (larger adds compute, not detail). */
export const INPUT_SIZE_BOUNDS = Object.freeze({ min: 16, max: 64, step: 8 });
/** Input size when the images' sizes are unknown (an offline copy downloaded by an older version). */
export const FALLBACK_INPUT_SIZE = 64;
/** Batch size: about this many steps an epoch at least, within these bounds (powers of two). */
export const MIN_STEPS_PER_EPOCH = 8;
export const BATCH_SIZE_BOUNDS = Object.freeze({ min: 8, max: 32 });
/** Epochs: enough for about this many optimizer steps in all, within these bounds. */
export const TARGET_STEPS = 600;
/**
 * A detector needs about twice that: on 240 COCO faces its validation IoU was still rising at 600 steps (mAP@0.5 0.20
 * at 50 epochs, 0.64 at 100, the same run otherwise).
 */
export const DETECTION_TARGET_STEPS = 1200;
export const EPOCH_BOUNDS = Object.freeze({ min: 30, max: 100 });
/** Below this many images a set is small: random crop and brightness are on (flip stays off: it changes digits and text). */
export const SMALL_SET_ITEMS = 1000;
export const SMALL_SET_AUGMENT = Object.freeze({ crop: true, flip: false, brightness: 0.1 });
const NO_AUGMENT = Object.freeze({ crop: false, flip: false, brightness: 0 });

const clamp = (value, { min, max }) => Math.min(max, Math.max(min, value));

function chooseInputSize(side) {
  if (side === null) return { value: FALLBACK_INPUT_SIZE, reason: `image sizes unknown here → ${FALLBACK_INPUT_SIZE}` };
  const value = clamp(Math.round(side / INPUT_SIZE_BOUNDS.step) * INPUT_SIZE_BOUNDS.step, INPUT_SIZE_BOUNDS);
  const why = side > INPUT_SIZE_BOUNDS.max
    ? `larger inputs cost ${Math.round((side / value) ** 2)}x the compute; set it to train on more detail`
    : 'the images\' own size: a larger input adds compute, not detail';
  return { value, reason: `median image side ${side} px → ${value} (${why})` };
}

function chooseBatchSize(trainCount) {
  let value = BATCH_SIZE_BOUNDS.min;
  while (value * 2 <= BATCH_SIZE_BOUNDS.max && value * 2 * MIN_STEPS_PER_EPOCH <= trainCount) value *= 2;
  const steps = Math.ceil(trainCount / value);
  return { value, reason: `${trainCount} training images → ${value}, ${steps} steps an epoch` };
}

function chooseEpochs(trainCount, batchSize, task) {
  const steps = Math.ceil(trainCount / batchSize);
  const target = task === 'detection' ? DETECTION_TARGET_STEPS : TARGET_STEPS;
  const value = clamp(Math.ceil(target / steps), EPOCH_BOUNDS);
  return { value, reason: `${steps} steps an epoch → ${value} epochs, ${value * steps} steps in all (aim: about ${target}${task === 'detection' ? ' for a detector' : ''})` };
}

/**
 * Boxes mirror with the pixels, and points do when their names pair left with right (data/augment_geometry.js): a
 * flip is then a new training image with the same meaning. Numbered points (p1, p2, ...) cannot say which is which.
 */
function mirrorable(task, pointNames) {
  return task === 'detection' || (task === 'landmarks' && mirrorPairs(pointNames).some((from, to) => from !== to));
}

function chooseAugment(numItems, task, pointNames) {
  if (numItems < SMALL_SET_ITEMS && mirrorable(task, pointNames)) {
    const moved = task === 'detection' ? 'the boxes' : 'the points, left and right swapped,';
    return { value: { ...SMALL_SET_AUGMENT, flip: true }, reason: `${numItems} images is a small set → random crop, `
      + `brightness ±${SMALL_SET_AUGMENT.brightness} and flip (${moved} move with the pixels)` };
  }
  if (numItems < SMALL_SET_ITEMS) {
    return { value: { ...SMALL_SET_AUGMENT }, reason: `${numItems} images is a small set → random crop and brightness ±${SMALL_SET_AUGMENT.brightness} `
      + '(flip stays off: it changes the meaning of digits, text and left/right)' };
  }
  return { value: { ...NO_AUGMENT }, reason: `${numItems} images → no augmentation` };
}

/**
 * A detector's loss sits on a plateau for tens of epochs before it starts finding objects, after an epoch-0 fall
 * (18.5 → 2.9 on 240 COCO faces, as the no-object term empties) that arms the LR rule at once: the rule then cut
 * the rate on that plateau, watching the validation loss (mAP@0.5 0.20) or the training loss (stuck at 2.7). With a fixed
 * rate the same run reached 0.64. So a detection run whose rule is the untouched default trains at a fixed rate.
 */
function chooseLrSchedule(task, lrSchedule) {
  if (task !== 'detection' || !isDefaultRule(lrSchedule)) return null;
  return { value: null, reason: 'a detector stays on a loss plateau for tens of epochs before it finds objects: '
    + 'fixed learning rate (give a rule of your own to change that)' };
}

const isDefaultRule = (rule) => Boolean(rule) && Object.entries(PLATEAU_DEFAULTS).every(([key, value]) => rule[key] === value);

/**
 * The choices for a dataset: {key: {value, reason}} for every AUTO_KEYS entry. `trainCount` is the size of the
 * run's training split; `side` the median image side (data/sync.js medianSide), or null; `task` the dataset's, with
 * its `pointNames` for landmarks.
 */
export function datasetDefaults({ numItems, trainCount, side, batchSize = AUTO, task = 'classification', pointNames = [] }) {
  const batch = batchSize === AUTO ? chooseBatchSize(trainCount) : { value: batchSize };
  return {
    task: { value: task, reason: `the dataset's task: ${task}` },
    inputSize: chooseInputSize(side),
    batchSize: batch,
    epochs: chooseEpochs(trainCount, batch.value, task),
    augment: chooseAugment(numItems, task, pointNames),
  };
}

/**
 * `config` with each 'auto' setting replaced by the dataset's choice; config.defaults records those choices with
 * their reasons (explicit settings are not in it). A config with nothing on 'auto' comes back unchanged.
 */
export function applyDatasetDefaults(config, dataset) {
  const auto = AUTO_KEYS.filter((key) => config[key] === AUTO);
  const schedule = chooseLrSchedule(auto.includes('task') ? dataset.task : config.task, config.lrSchedule);
  if (schedule) {
    config = { ...config, lrSchedule: schedule.value, defaults: { ...(config.defaults ?? {}), lrSchedule: schedule } };
  }
  if (!auto.length) return config;
  const choices = datasetDefaults({ ...dataset, batchSize: config.batchSize });
  const resolved = { ...config, defaults: { ...(config.defaults ?? {}) } };
  for (const key of auto) {
    resolved[key] = choices[key].value;
    resolved.defaults[key] = choices[key];
  }
  return resolved;
}
