/**
 * Pretrained backbones: the registry (package, license, input size, normalisation, blocks) and the builder of one
 * tf.LayersModel of frozen backbone + small head, so snapshots, resumes and exports treat it like any other model.
 */
import { tf } from '../tf.js';
import { deriveSeed } from '../data/random.js';
import { loadWeights } from './backbone_weights.js';
import { getTask } from './tasks.js';

// Keras' BatchNormalization epsilon, the one in nsfwjs' MobileNetV2 topology.
const BATCH_NORM_EPSILON = 1e-3;
// Keras MobileNetV2's inverted residual blocks as [expansion, filters, stride]; block 0 has no expansion conv.
const MOBILENET_V2_BLOCKS = [
  [1, 16, 1], [6, 24, 2], [6, 24, 1], [6, 32, 2], [6, 32, 1], [6, 32, 1], [6, 64, 2], [6, 64, 1], [6, 64, 1],
  [6, 64, 1], [6, 96, 1], [6, 96, 1], [6, 96, 1], [6, 160, 2], [6, 160, 1], [6, 160, 1], [6, 320, 1],
];
// face-api.js' FaceFeatureExtractor: four dense blocks of four convs, each block halving the side.
const FACE_DENSE_FILTERS = [32, 64, 128, 256];
const FACE_MEAN_RGB = [122.782, 117.001, 104.298];

/**
 * Batch normalisation folded into the conv before it: kernel × γ/√(σ²+ε) per output channel, bias β − μγ/√(σ²+ε).
 * Folding matters beyond speed: tfjs' BatchNormalization uses the batch's statistics (and rewrites its moving
 * averages) whenever a model is called with training: true, frozen or not, which would wreck pretrained features on
 * the small, zero-padded batches of a few-shot run.
 */
function foldBatchNorm(weights, convName, bnName, depthwise = false) {
  return tf.tidy(() => {
    const gamma = weights[`${bnName}/gamma`];
    const scale = tf.div(gamma, tf.sqrt(tf.add(weights[`${bnName}/moving_variance`], BATCH_NORM_EPSILON)));
    const kernel = weights[`${convName}/${depthwise ? 'depthwise_kernel' : 'kernel'}`];
    const shape = depthwise ? [1, 1, scale.shape[0], 1] : [1, 1, 1, scale.shape[0]];
    const bias = tf.sub(weights[`${bnName}/beta`], tf.mul(weights[`${bnName}/moving_mean`], scale));
    return [tf.mul(kernel, tf.reshape(scale, shape)), bias];
  });
}

/** The last layer of each MobileNetV2 block up to `lastBlock`: its residual add where it has one, else its projection. */
function mobileNetV2Outputs(lastBlock) {
  let channels = 32;
  return MOBILENET_V2_BLOCKS.slice(0, lastBlock + 1).map(([, filters, strides], b) => {
    const prefix = b === 0 ? 'expanded_conv_' : `block_${b}_`;
    const residual = strides === 1 && channels === filters;
    channels = filters;
    return `${prefix}${residual ? 'add' : 'project'}`;
  });
}

/** MobileNetV2 (Keras layout, α 1.0) up to block `lastBlock`, batch norms folded; `trainableFrom` = first block that trains. */
function mobileNetV2(lastBlock) {
  return (x, weights, trainableFrom) => {
    const conv = (name, filters, kernelSize, strides, bn, trainable) => tf.layers.conv2d({
      name, filters, kernelSize, strides, padding: 'same', trainable, weights: foldBatchNorm(weights, name, bn) });
    const relu6 = (name, trainable) => tf.layers.reLU({ name, maxValue: 6, trainable });
    const stemTrains = trainableFrom === 0;
    // Keras pads (0, 1) before its stride-2 'valid' convs on even sides: exactly tfjs' 'same' there.
    x = relu6('Conv1_relu', stemTrains).apply(conv('Conv1', 32, 3, 2, 'bn_Conv1', stemTrains).apply(x));
    let channels = 32;
    for (let b = 0; b <= lastBlock; b++) {
      const [expansion, filters, strides] = MOBILENET_V2_BLOCKS[b];
      const prefix = b === 0 ? 'expanded_conv_' : `block_${b}_`;
      const trainable = b >= trainableFrom;
      let h = x;
      if (expansion > 1) {
        h = conv(`${prefix}expand`, channels * expansion, 1, 1, `${prefix}expand_BN`, trainable).apply(h);
        h = relu6(`${prefix}expand_relu`, trainable).apply(h);
      }
      h = tf.layers.depthwiseConv2d({
        name: `${prefix}depthwise`, kernelSize: 3, strides, padding: 'same', trainable,
        weights: foldBatchNorm(weights, `${prefix}depthwise`, `${prefix}depthwise_BN`, true),
      }).apply(h);
      h = relu6(`${prefix}depthwise_relu`, trainable).apply(h);
      h = conv(`${prefix}project`, filters, 1, 1, `${prefix}project_BN`, trainable).apply(h);
      if (strides === 1 && channels === filters) h = tf.layers.add({ name: `${prefix}add`, trainable }).apply([x, h]);
      x = h;
      channels = filters;
    }
    return x;
  };
}

/**
 * face-api.js' FaceFeatureExtractor from its face expression model. It takes (pixel − mean RGB) / 255; the run feeds
 * 'symmetric' pixels s = pixel / 127.5 − 1, so its input is s / 2 + (127.5 − mean) / 255, folded into the first
 * conv (kernel / 2, bias + Σ kernel × offset). Only the zero padding at the image border sees the difference.
 */
function faceFeatureExtractor(x, weights, trainableFrom) {
  const offset = FACE_MEAN_RGB.map((mean) => (127.5 - mean) / 255);
  const stem = tf.tidy(() => {
    const kernel = weights['dense0/conv0/filters'];
    const shift = tf.sum(tf.mul(kernel, tf.reshape(tf.tensor1d(offset), [1, 1, 3, 1])), [0, 1, 2]);
    return [tf.div(kernel, 2), tf.add(weights['dense0/conv0/bias'], shift)];
  });
  FACE_DENSE_FILTERS.forEach((filters, d) => {
    const trainable = d >= trainableFrom;
    const name = (i) => `dense${d}_conv${i}`;
    const separable = (i, strides) => tf.layers.separableConv2d({
      name: name(i), filters, kernelSize: 3, strides, padding: 'same', trainable,
      weights: ['depthwise_filter', 'pointwise_filter', 'bias'].map((key) => weights[`dense${d}/conv${i}/${key}`]),
    });
    const relu = (suffix) => tf.layers.reLU({ name: `dense${d}_${suffix}`, trainable });
    const down = d === 0
      ? tf.layers.conv2d({ name: name(0), filters, kernelSize: 3, strides: 2, padding: 'same', trainable, weights: stem })
      : separable(0, 2);
    const terms = [relu('relu0').apply(down.apply(x))];
    for (let i = 1; i <= 3; i++) {
      const input = i === 1 ? terms[0] : relu(`relu${i - 1}`).apply(tf.layers.add({ name: `dense${d}_add${i - 1}`, trainable }).apply([...terms]));
      terms.push(separable(i, 1).apply(input));
    }
    x = relu('out').apply(tf.layers.add({ name: `dense${d}_add3`, trainable }).apply(terms));
  });
  tf.dispose(stem);
  return x;
}

/**
 * The backbones a run can start from. Each comes from an npm package in package.json (served under /vendor/ by
 * server/app.py), never from the network at run time; `license` is the package's, which allows redistribution.
 */
export const BACKBONES = Object.freeze({
  mobilenet_v2: Object.freeze({
    title: 'MobileNetV2 to block 15 (ImageNet features, 96×96)',
    package: 'nsfwjs', license: 'MIT',
    origin: "nsfwjs' MobileNetV2 (Keras ImageNet weights, Apache-2.0; its blocks 11-16 fine-tuned by nsfwjs), uint8",
    inputSize: 96, normalization: 'symmetric', blockOutputs: Object.freeze(mobileNetV2Outputs(15)),
    weights: { format: 'nsfwjs-bundle', folder: 'nsfwjs-models', manifest: 'mobilenet_v2/model.min.js' },
    build: mobileNetV2(15),
  }),
  face_features: Object.freeze({
    title: "face-api.js' face feature extractor (faces, 112×112)",
    package: '@vladmandic/face-api', license: 'MIT',
    origin: "the FaceFeatureExtractor of face-api.js' face expression model (4 dense blocks), uint8",
    inputSize: 112, normalization: 'symmetric', blockOutputs: Object.freeze(FACE_DENSE_FILTERS.map((_, d) => `dense${d}_out`)),
    weights: { format: 'tfjs-weights', folder: 'face-api-models', manifest: 'face_expression_model-weights_manifest.json' },
    build: faceFeatureExtractor,
  }),
});

export const BACKBONE_NAMES = Object.freeze(Object.keys(BACKBONES));

export function getBackbone(name) {
  const spec = BACKBONES[name];
  if (!spec) throw new Error(`unknown backbone '${name}' (expected one of ${BACKBONE_NAMES.join(', ')})`);
  return spec;
}

/** Checks `fineTuneBlocks` for a backbone: 0 (all frozen) up to all of its blocks. */
export function checkFineTuneBlocks(name, fineTuneBlocks) {
  const blocks = getBackbone(name).blockOutputs.length;
  if (!(Number.isInteger(fineTuneBlocks) && fineTuneBlocks >= 0 && fineTuneBlocks <= blocks)) {
    throw new Error(`fineTuneBlocks must be an integer from 0 to ${blocks} for backbone '${name}'`);
  }
}

/**
 * What a run config takes from its backbone: {backbone (null for none), fineTuneBlocks, inputSize, normalization}.
 * The backbone's input size and normalisation replace the run's, since its weights only know those.
 */
export function backboneRunConfig({ backbone = null, fineTuneBlocks = 0, inputSize, normalization }) {
  if (!backbone) return { backbone: null, fineTuneBlocks: 0, inputSize, normalization };
  const spec = getBackbone(backbone);
  checkFineTuneBlocks(backbone, fineTuneBlocks);
  return { backbone, fineTuneBlocks, inputSize: spec.inputSize, normalization: spec.normalization };
}

/**
 * The name of the layer whose output is the last thing that does not train: the pooled features when the whole
 * backbone is frozen, the output of the last frozen block when the last `fineTuneBlocks` train, null when all do.
 */
export function frozenBoundary(name, fineTuneBlocks) {
  const { blockOutputs } = getBackbone(name);
  if (fineTuneBlocks === 0) return 'pool';
  if (fineTuneBlocks >= blockOutputs.length) return null;
  return blockOutputs[blockOutputs.length - fineTuneBlocks - 1];
}

/**
 * Backbone + global average pooling + the task's head, one functional tf.LayersModel. The backbone's weights come
 * from its package (`readFile` as in loadWeights); its blocks are frozen except the last `fineTuneBlocks`; the head
 * is glorot-normal from `seed` (zero biases), like the scratch builder's.
 */
export async function buildBackboneModel({ backbone, fineTuneBlocks = 0, numClasses, seed = null }, task = 'classification', readFile) {
  const spec = getBackbone(backbone);
  checkFineTuneBlocks(backbone, fineTuneBlocks);
  const taskObject = typeof task === 'string' ? getTask(task) : task;
  const weights = await loadWeights(spec.weights, readFile);
  try {
    const input = tf.input({ shape: [spec.inputSize, spec.inputSize, 3], name: 'image' });
    const features = spec.build(input, weights, spec.blockOutputs.length - fineTuneBlocks);
    const pooled = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(features);
    const kernel = seed === null ? 'glorotNormal' : tf.initializers.glorotNormal({ seed: deriveSeed(seed, 'head', 'kernelInitializer') });
    const output = taskObject.head(pooled, { numClasses }, { kernelInitializer: kernel, biasInitializer: 'zeros' });
    return tf.model({ inputs: input, outputs: output, name: `browsertrain_${backbone}_${taskObject.name}` });
  } finally {
    tf.dispose(Object.values(weights));
  }
}
