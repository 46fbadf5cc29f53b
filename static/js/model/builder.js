/** The architecture builder: a small CNN of depthwise-separable stages, configured by one plain object. */
import { tf } from '../tf.js';
import { deriveSeed } from '../data/random.js';
import { getTask } from './tasks.js';

export const BLOCK_TYPES = Object.freeze(['plain', 'residual', 'dense']);
export const ACTIVATIONS = Object.freeze(['relu', 'leakyRelu', 'relu6']);
const DEPTHWISE_KERNEL = 3;

/** The defaults give the reference CNN of the design notes (37,466 parameters with 10 classes). */
export const DEFAULT_MODEL_CONFIG = Object.freeze({
  inputSize: 64,
  channels: 3,
  numClasses: 10,
  width: 16,
  stages: Object.freeze([32, 64, 128]),
  blocksPerStage: 1,
  block: 'plain',
  activation: 'relu',
  alpha: 0.1,
  seed: null,
});

const isPositiveInteger = (value) => Number.isInteger(value) && value > 0;

/** The config with defaults filled in, checked; store this one with a run so the model can be rebuilt exactly. */
export function resolveModelConfig(config = {}) {
  const resolved = { ...DEFAULT_MODEL_CONFIG, ...config };
  resolved.stages = [...resolved.stages];
  const problems = [];
  if (!isPositiveInteger(resolved.inputSize)) problems.push(`inputSize must be a positive integer`);
  if (!isPositiveInteger(resolved.channels)) problems.push(`channels must be a positive integer`);
  if (!isPositiveInteger(resolved.width)) problems.push(`width must be a positive integer`);
  if (resolved.stages.length === 0 || !resolved.stages.every(isPositiveInteger)) {
    problems.push(`stages must be a non-empty list of positive integers`);
  }
  if (!Number.isInteger(resolved.blocksPerStage) || resolved.blocksPerStage < 0) {
    problems.push(`blocksPerStage must be an integer >= 0`);
  }
  if (!BLOCK_TYPES.includes(resolved.block)) problems.push(`block must be one of ${BLOCK_TYPES.join(', ')}`);
  if (!ACTIVATIONS.includes(resolved.activation)) problems.push(`activation must be one of ${ACTIVATIONS.join(', ')}`);
  if (!(resolved.alpha >= 0)) problems.push(`alpha must be >= 0`);
  if (resolved.seed !== null && !Number.isInteger(resolved.seed)) problems.push(`seed must be an integer or null`);
  if (problems.length) throw new Error(`invalid model config: ${problems.join('; ')}`);
  return resolved;
}

/**
 * The side of the last feature map: every 'same'-padded stride-2 layer (the stem and each stage's first conv)
 * halves it, rounding up. A detection head's grid is this size (S = inputSize / 32 for four downsamplings).
 */
export function featureMapSize(config = {}) {
  const resolved = resolveModelConfig(config);
  let size = resolved.inputSize;
  for (let i = 0; i <= resolved.stages.length; i++) size = Math.ceil(size / 2);
  return size;
}

/**
 * Glorot-normal kernels and zero biases (tip 7). With a seed, every weight gets its own seed derived from the
 * layer name, so a rebuilt model starts from the same weights; without one, tfjs draws fresh ones.
 */
function weightInitFor(seed, layerName, kernelKeys) {
  const init = { biasInitializer: 'zeros' };
  for (const key of kernelKeys) {
    init[key] = seed === null ? 'glorotNormal' : tf.initializers.glorotNormal({ seed: deriveSeed(seed, layerName, key) });
  }
  return init;
}

/**
 * Redraws every depthwise kernel glorot-normal with the fans of what it really connects: each output channel sees
 * 3x3 inputs of one channel, so fan_in = fan_out = 9. tfjs (like Keras) computes the fans of the [3, 3, C, 1] kernel
 * as if every channel fed every output (fan_in = 9C), which shrinks the weights by sqrt(C): stacked over the
 * reference CNN's seven separable convs, the features reach the head at ~1e-3 and the loss never leaves
 * ln(classes). This is done after building, not with a depthwiseInitializer, because tfjs 4.22's SeparableConv2D
 * also hands its depthwiseInitializer to the pointwise kernel (convolutional.js: `pointwiseInitializer =
 * getInitializer(config.depthwiseInitializer || ...)`).
 */
function redrawDepthwiseKernels(model, seed) {
  const fan = DEPTHWISE_KERNEL * DEPTHWISE_KERNEL;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'SeparableConv2D') continue;
    const kernel = layer.depthwiseKernel;
    // tfjs draws glorotNormal as a normal truncated at 2 sigma with stddev sqrt(2 / (fanIn + fanOut)); so do we.
    const init = tf.initializers.truncatedNormal({
      mean: 0, stddev: Math.sqrt(2 / (fan + fan)), seed: seed === null ? undefined : deriveSeed(seed, layer.name, 'depthwise'),
    });
    tf.tidy(() => kernel.write(init.apply(kernel.shape)));
  }
  return model;
}

function activationLayer(config, name) {
  if (config.activation === 'leakyRelu') return tf.layers.leakyReLU({ alpha: config.alpha, name });
  // A ReLU layer with maxValue (rather than the 'relu6' activation string) is what Keras reads back as ReLU(6).
  return tf.layers.reLU({ name, ...(config.activation === 'relu6' ? { maxValue: 6 } : {}) });
}

function separableConv(config, name, filters, strides) {
  return tf.layers.separableConv2d({
    name,
    filters,
    kernelSize: DEPTHWISE_KERNEL,
    strides,
    padding: 'same',
    ...weightInitFor(config.seed, name, ['depthwiseInitializer', 'pointwiseInitializer']),
  });
}

/**
 * One stage: a stride-2 separable conv (with activation), then `blocksPerStage` stride-1 separable convs of the same
 * filter count and padding, joined according to `block` (tip 3):
 *   plain:    h = act(conv(h))
 *   residual: h = act(h + conv(h))                       — an identity skip around each conv
 *   dense:    h = act(d + c1 + ... + ci), ci = conv_i(h)  — face-api.js style: each conv sees the sum of the
 *             stage's downsampled input d and all earlier conv outputs. Summing instead of concatenating keeps the
 *             filter count, so 'dense' has the same parameters as 'plain' and the width stays the user's choice.
 * With blocksPerStage 1, residual and dense are the same graph.
 */
function stage(x, config, index, filters) {
  const prefix = `stage${index + 1}`;
  let h = activationLayer(config, `${prefix}_down_act`).apply(separableConv(config, `${prefix}_down`, filters, 2).apply(x));
  const denseTerms = [h];
  for (let b = 1; b <= config.blocksPerStage; b++) {
    const name = `${prefix}_block${b}`;
    const convOut = separableConv(config, name, filters, 1).apply(h);
    let preActivation = convOut;
    if (config.block === 'residual') {
      preActivation = tf.layers.add({ name: `${name}_add` }).apply([h, convOut]);
    } else if (config.block === 'dense') {
      denseTerms.push(convOut);
      preActivation = tf.layers.add({ name: `${name}_add` }).apply([...denseTerms]);
    }
    h = activationLayer(config, `${name}_act`).apply(preActivation);
  }
  return h;
}

/**
 * Builds the CNN as a functional tf.LayersModel: a regular 3x3 stride-2 conv with `width` filters (tip 2: the first
 * layer keeps the RGB relations), the stages, global average pooling (unless the task's head is spatial), then the
 * task's head.
 * `task` is a task object from tasks.js or its name.
 */
export function buildModel(config = {}, task = 'classification') {
  const resolved = resolveModelConfig(config);
  const taskObject = typeof task === 'string' ? getTask(task) : task;
  const input = tf.input({ shape: [resolved.inputSize, resolved.inputSize, resolved.channels], name: 'image' });
  const stem = tf.layers.conv2d({
    name: 'stem',
    filters: resolved.width,
    kernelSize: 3,
    strides: 2,
    padding: 'same',
    ...weightInitFor(resolved.seed, 'stem', ['kernelInitializer']),
  });
  let x = activationLayer(resolved, 'stem_act').apply(stem.apply(input));
  resolved.stages.forEach((filters, index) => {
    x = stage(x, resolved, index, filters);
  });
  // A spatial head (detection) reads the last feature map itself; the others read its global average.
  if (!taskObject.spatialHead) x = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x);
  const output = taskObject.head(x, resolved, weightInitFor(resolved.seed, 'head', ['kernelInitializer']));
  const model = tf.model({ inputs: input, outputs: output, name: `browsertrain_${taskObject.name}` });
  return redrawDepthwiseKernels(model, resolved.seed);
}
