import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tf } from '../../static/js/tf.js';
import { BACKBONES, buildBackboneModel, frozenBoundary } from '../../static/js/model/backbone.js';
import { loadWeights, manifestFromBundle } from '../../static/js/model/backbone_weights.js';
import { normalize } from '../../static/js/data/normalize.js';
import { modelAfter } from '../../static/js/train/feature_cache.js';
import { resolveRunConfig } from '../../static/js/train/run_config.js';

const require = createRequire(import.meta.url);
// What server/app.py serves under /vendor/ (VENDOR_FOLDERS), read from the npm install.
const VENDOR = { 'nsfwjs-models': 'nsfwjs/dist/models', 'face-api-models': '@vladmandic/face-api/model' };
const NODE_MODULES = new URL('../../node_modules/', import.meta.url);
async function readVendor(folder, path) {
  const bytes = await readFile(new URL(`${VENDOR[folder]}/${path}`, NODE_MODULES));
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}
const build = (options) => buildBackboneModel({ numClasses: 3, seed: 1, ...options }, 'classification', readVendor);
const maxAbs = (a, b) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
const outputOf = (model, name, x) => tf.tidy(() => tf.model({ inputs: model.inputs, outputs: model.getLayer(name).output }).predict(x));
const pixels = (size, seed) => tf.randomUniform([2, size, size, 3], 0, 255, 'float32', seed);

test("nsfwjs' bundled manifest is read as data: names, shapes and uint8 quantization of every weight", async () => {
  const source = new TextDecoder().decode(await readVendor('nsfwjs-models', 'mobilenet_v2/model.min.js'));
  const weights = manifestFromBundle(source)[0].weights;
  const conv1 = weights.find((w) => w.name === 'Conv1/kernel');
  assert.deepEqual(conv1.shape, [3, 3, 3, 32]);
  assert.equal(conv1.quantization.dtype, 'uint8');
  assert.ok(conv1.quantization.min < 0 && conv1.quantization.scale > 0);
  assert.equal(weights.length, 266);  // 52 batch norms × 4 + 35 conv kernels + 17 depthwise + 3 dense × 2
});

test("the folded MobileNetV2 computes what nsfwjs' own Keras topology (with its batch norms) computes", async () => {
  // By path: the package's "exports" map does not list its model files. A test may run the package's code; pages never do.
  const { modelTopology } = require(new URL('nsfwjs/dist/models/mobilenet_v2/model.min.js', NODE_MODULES).pathname);
  const topology = structuredClone(modelTopology);
  const layers = topology.model_config.config.layers;
  layers[0].config.batch_input_shape = [null, 96, 96, 3];
  topology.model_config.config.layers = layers.slice(0, layers.findIndex((l) => l.name === 'block_15_add') + 1);
  topology.model_config.config.output_layers = [['block_15_add', 0, 0]];
  const reference = await tf.models.modelFromJSON({ modelTopology: topology });
  const weights = await loadWeights(BACKBONES.mobilenet_v2.weights, readVendor);
  reference.setWeights(reference.weights.map((w) => weights[w.originalName]));
  tf.dispose(Object.values(weights));
  const model = await build({ backbone: 'mobilenet_v2' });
  const x = normalize(pixels(96, 3), 'symmetric');
  const expected = reference.predict(x);
  const actual = outputOf(model, 'block_15_add', x);
  assert.deepEqual(actual.shape, [2, 3, 3, 160]);
  assert.ok(maxAbs(expected, actual) < 1e-4 * maxAbs(expected, tf.zerosLike(expected)), 'folded batch norms changed the features');
  tf.dispose([x, expected, actual]);
  reference.dispose();
  model.dispose();
});

/** face-api.js' FaceFeatureExtractor.forwardInput, op for op, on its own normalisation ((pixel − mean) / 255). */
function faceApiFeatures(w, raw) {
  return tf.tidy(() => {
    const separable = (x, p, s) => tf.add(tf.separableConv2d(x, w[`${p}/depthwise_filter`], w[`${p}/pointwise_filter`], s, 'same'), w[`${p}/bias`]);
    let x = tf.div(tf.sub(raw, tf.tensor1d([122.782, 117.001, 104.298])), 255);
    for (let d = 0; d < 4; d++) {
      const out1 = tf.relu(d === 0 ? tf.add(tf.conv2d(x, w['dense0/conv0/filters'], 2, 'same'), w['dense0/conv0/bias']) : separable(x, `dense${d}/conv0`, 2));
      const out2 = separable(out1, `dense${d}/conv1`, 1);
      const out3 = separable(tf.relu(tf.add(out1, out2)), `dense${d}/conv2`, 1);
      const out4 = separable(tf.relu(tf.add(out1, tf.add(out2, out3))), `dense${d}/conv3`, 1);
      x = tf.relu(tf.add(out1, tf.add(out2, tf.add(out3, out4))));
    }
    return tf.reshape(tf.avgPool(x, [7, 7], [2, 2], 'valid'), [raw.shape[0], -1]);
  });
}

test("the face backbone gives face-api.js' own features, its mean-RGB normalisation folded into the first conv", async () => {
  const weights = await loadWeights(BACKBONES.face_features.weights, readVendor);
  const raw = pixels(112, 4);
  const expected = faceApiFeatures(weights, raw);
  tf.dispose(Object.values(weights));
  const model = await build({ backbone: 'face_features' });
  const x = normalize(raw, 'symmetric');
  const actual = outputOf(model, 'pool', x);
  assert.deepEqual(actual.shape, [2, 256]);
  // Only the zero padding at the image border differs (a mean pixel there, mid-grey here): measured 3.7% of the largest.
  const relative = maxAbs(expected, actual) / maxAbs(expected, tf.zerosLike(expected));
  assert.ok(relative < 0.05, `features differ by ${relative}`);
  tf.dispose([raw, x, expected, actual]);
  model.dispose();
});

test('frozen means frozen: only the head trains, or the head and the last N blocks', async () => {
  const frozen = await build({ backbone: 'face_features' });
  assert.deepEqual(frozen.trainableWeights.map((w) => w.originalName), ['head/kernel', 'head/bias']);
  frozen.dispose();
  const tuned = await build({ backbone: 'face_features', fineTuneBlocks: 1 });
  const names = tuned.trainableWeights.map((w) => w.originalName);
  assert.ok(names.includes('head/kernel') && names.some((n) => n.startsWith('dense3_conv3/')));
  assert.ok(!names.some((n) => n.startsWith('dense2_')));
  tuned.dispose();
});

test('a backbone fixes the run config\'s input size and normalisation; bad names and block counts are refused', () => {
  const config = resolveRunConfig({ backbone: 'mobilenet_v2', inputSize: 32, normalization: 'unit' });
  assert.equal(config.inputSize, BACKBONES.mobilenet_v2.inputSize);
  assert.equal(config.normalization, 'symmetric');
  assert.equal(resolveRunConfig({ backbone: '' }).backbone, null);
  assert.equal(resolveRunConfig({}).inputSize, 'auto', 'without a backbone the input size comes from the dataset');
  assert.throws(() => resolveRunConfig({ backbone: 'resnet' }), /unknown backbone 'resnet' \(expected one of mobilenet_v2, face_features\)/);
  assert.throws(() => resolveRunConfig({ backbone: 'face_features', fineTuneBlocks: 5 }), /fineTuneBlocks must be an integer from 0 to 4/);
});

test('the model after the frozen boundary shares its layers: it predicts alike from cached features and trains the whole', async () => {
  const model = await build({ backbone: 'face_features', fineTuneBlocks: 1 });
  const boundary = frozenBoundary('face_features', 1);
  assert.equal(boundary, 'dense2_out');
  const rest = modelAfter(model, boundary);
  const x = normalize(pixels(112, 5), 'symmetric');
  const features = outputOf(model, boundary, x);
  assert.ok(maxAbs(model.predict(x), rest.predict(features)) < 1e-5);
  assert.deepEqual(rest.trainableWeights.map((w) => w.id).sort(), model.trainableWeights.map((w) => w.id).sort());
  const before = model.getLayer('head').getWeights()[0].dataSync().slice();
  tf.train.sgd(0.1).minimize(() => tf.neg(tf.mean(tf.log(rest.apply(features, { training: true }).slice([0, 0], [-1, 1])))), false, rest.trainableWeights.map((w) => w.read()));
  assert.notDeepEqual(model.getLayer('head').getWeights()[0].dataSync(), before);
  tf.dispose([x, features]);
  model.dispose();
});
