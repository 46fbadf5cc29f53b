/** A run's configuration: the defaults, checking user input, the settings chosen from the dataset, the fresh model. */
import { tf } from '../tf.js';
import { resolveAugment } from '../data/augment.js';
import { epochOrder, splitItems, splitSeedOf } from '../data/split.js';
import { buildModel, featureMapSize, resolveModelConfig } from '../model/builder.js';
import { RESIZE_MODES } from '../data/geometry.js';
import { LANDMARK_LOSSES } from '../model/tasks/landmarks.js';
import { DEFAULT_NUM_ANCHORS } from '../model/tasks/detection.js';
import { scaleToUnitOutput } from '../model/init_scale.js';
import { backboneRunConfig, buildBackboneModel } from '../model/backbone.js';
import { resolveLrSchedule } from './schedule.js';
import { AUTO, AUTO_KEYS, applyDatasetDefaults } from './defaults.js';
import { RUN_DEFAULTS } from '../shared_rules.js';

/**
 * What a run is configured by; stored with the run so a resume rebuilds exactly this. The settings the server also
 * reads (normalization, valFraction, seed, and the task of a config recorded without one) take their defaults from
 * static/shared_rules.json.
 */
export const DEFAULT_RUN_CONFIG = Object.freeze({
  task: AUTO,  // the dataset's task; a config recorded without one is RUN_DEFAULTS.task (classification)
  // 'auto': chosen from the dataset when the run starts (train/defaults.js), with the reason in config.defaults.
  epochs: AUTO,
  batchSize: AUTO,
  lr: 0.001,
  inputSize: AUTO,
  normalization: RUN_DEFAULTS.normalization,
  backend: 'auto',
  valFraction: RUN_DEFAULTS.valFraction,
  seed: RUN_DEFAULTS.seed,
  // The validation split's seed, apart from `seed` (weights, shuffle, augmentation): runs that differ only in seed
  // are scored on the same images.
  splitSeed: 0,
  // Explicit on every backend: tf.train.adam without an epsilon takes the backend's (1e-4 on WebGL, 1e-7 elsewhere).
  optimizer: Object.freeze({ name: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }),
  snapshotEvery: 5,
  lrSchedule: true,
  augment: AUTO,
  resize: 'stretch',  // onto the input square: 'stretch' or 'letterbox' (data/geometry.js); boxes and points follow
  numAnchors: DEFAULT_NUM_ANCHORS,  // detection: anchors per grid cell, learnt by k-means on the training boxes
  landmarkLoss: 'mse',  // landmarks: 'mse' or 'wing'
  backbone: null,  // a pretrained start (model/backbone.js), or null to train from scratch
  fineTuneBlocks: 0,  // with a backbone: how many of its last blocks train too
  model: Object.freeze({ width: 16, stages: Object.freeze([32, 64, 128]), blocksPerStage: 1, block: 'plain', activation: 'relu' }),
});

/** A config from user input over the defaults, with numbers checked. */
export function resolveRunConfig(input = {}) {
  const config = { ...DEFAULT_RUN_CONFIG, ...input, model: { ...DEFAULT_RUN_CONFIG.model, ...(input.model ?? {}) },
    optimizer: { ...DEFAULT_RUN_CONFIG.optimizer, ...(input.optimizer ?? {}) } };
  for (const key of ['epochs', 'batchSize', 'inputSize', 'snapshotEvery']) {
    if (config[key] === AUTO && AUTO_KEYS.includes(key)) continue;
    if (!(Number.isInteger(config[key]) && config[key] > 0)) throw new Error(`${key} must be a positive integer or '${AUTO}'`);
  }
  for (const key of ['seed', 'splitSeed']) {
    if (!Number.isInteger(config[key])) throw new Error(`${key} must be an integer`);
  }
  if (!(config.lr > 0 && config.lr < 1)) throw new Error('lr must be between 0 and 1');
  if (!RESIZE_MODES.includes(config.resize)) throw new Error(`resize must be one of ${RESIZE_MODES.join(', ')}`);
  if (!(Number.isInteger(config.numAnchors) && config.numAnchors > 0)) throw new Error('numAnchors must be a positive integer');
  if (!LANDMARK_LOSSES.includes(config.landmarkLoss)) throw new Error(`landmarkLoss must be one of ${LANDMARK_LOSSES.join(', ')}`);
  const { name, beta1, beta2, epsilon } = config.optimizer;
  if (name !== 'adam' || !(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && epsilon > 0)) {
    throw new Error('optimizer must be adam with beta1 and beta2 in [0, 1) and epsilon > 0');
  }
  // The run stores the full rule it trains with (tip 6 of docs/tips.md), not just "on".
  config.lrSchedule = resolveLrSchedule(config.lrSchedule);
  if (config.augment !== AUTO) config.augment = resolveAugment(config.augment);
  Object.assign(config, backboneRunConfig(config));  // a backbone fixes the input size and normalisation it needs
  return config;
}

/**
 * The config with its 'auto' settings chosen from the loaded dataset (`data` from loadDataset): the training split's
 * size comes from the very split the run will use.
 */
export function configForData(config, data) {
  const task = data.task ?? RUN_DEFAULTS.task;
  if (config.task !== AUTO && config.task !== task) {
    throw new Error(`${data.name ?? 'this dataset'} is a ${task} dataset, but the run is configured for ${config.task}; `
      + `use task '${task}' (or leave it to the dataset)`);
  }
  if (config.backbone && task !== 'classification') {
    throw new Error(`a pretrained backbone starts classification runs only; train ${task} from scratch (backbone: null)`);
  }
  const positions = data.items.map((item, index) => ({ index, label: item.label ?? null }));
  const { train } = splitItems(positions, { valFraction: config.valFraction, seed: splitSeedOf(config) });
  return applyDatasetDefaults(config, { numItems: data.items.length, trainCount: train.length, side: data.side ?? null, task,
    pointNames: data.pointNames ?? [] });
}

/** What the task's head needs to know of the dataset: the classes, the point names, the anchors per cell. */
export function headConfigOf(config, data) {
  return { numClasses: data.classes.length, numPoints: data.pointNames?.length ?? 0, numAnchors: config.numAnchors };
}

/**
 * What RunInputs hands the task's prepare besides the input size and seed: the detection grid (the side of the
 * model's last feature map), the anchor count, the landmarks loss.
 */
export function taskOptionsOf(config) {
  return {
    gridSize: featureMapSize({ ...config.model, inputSize: config.inputSize }),
    numAnchors: config.numAnchors, loss: config.landmarkLoss,
  };
}

/** Images the initial scale is measured on (the first of epoch 0's shuffled order). */
export const INIT_SCALE_IMAGES = 32;

/** Adam as the run config says (tip 5), the same on every backend. */
export function adamFor(config) {
  const { beta1, beta2, epsilon } = config.optimizer ?? DEFAULT_RUN_CONFIG.optimizer;
  return tf.train.adam(config.lr, beta1, beta2, epsilon);
}

/**
 * A new model for `config`, compiled with Adam at config.lr; the caller disposes it and its optimizer. `head` is
 * headConfigOf(config, data). With the run's `inputs`, each convolution's scale is first set on a batch of its
 * training images (model/init_scale.js says why); returns {model, initScale} with that record.
 */
export async function freshModel(config, head, inputs = null) {
  const model = config.backbone
    ? await buildBackboneModel({ ...config, ...head }, config.task)
    : buildModel(resolveModelConfig({ seed: config.seed, ...config.model, inputSize: config.inputSize, ...head }), config.task);
  let initScale = null;
  // A pretrained backbone keeps its own scales.
  if (!config.backbone && inputs?.split.train.length) {
    const { train } = inputs.split;
    const order = epochOrder(train.length, config.seed, 0).slice(0, INIT_SCALE_IMAGES);
    const { xs, ys } = await inputs.reader(train)(order);
    try {
      initScale = scaleToUnitOutput(model, xs);
    } finally {
      tf.dispose([xs, ys]);
    }
  }
  model.compile({ optimizer: adamFor(config), loss: 'categoricalCrossentropy' });
  return { model, initScale };
}
