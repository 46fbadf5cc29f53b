// The wasm training kernels: every gradient matches the cpu backend, and a small reference CNN trains on wasm.
import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { configureWasm, registerWasmTrainingKernels } from '../../static/js/train/wasm_kernels.js';

const tf = globalThis.tf;
const TOLERANCE = 1e-4;

const status = await configureWasm(tf, { wasm });
await tf.setBackend('cpu');

/** A small deterministic generator, so a failure names shapes that can be replayed. */
function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomValues(random, shape) {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = random() * 2 - 1;
  return { values, shape };
}

/** Runs f on each backend with the same input values and returns plain arrays. */
function onBackend(backendName, f, inputs) {
  tf.setBackend(backendName);
  const startTensors = tf.memory().numTensors;
  const results = tf.tidy(() => {
    const out = f(...inputs.map(({ values, shape }) => tf.tensor(values, shape)));
    return (Array.isArray(out) ? out : [out]).map((t) => ({ shape: t.shape, values: t.dataSync().slice() }));
  });
  assert.equal(tf.memory().numTensors, startTensors, `${backendName} leaked tensors`);
  return results;
}

function assertClose(label, expected, actual) {
  assert.equal(actual.length, expected.length, label);
  expected.forEach((e, i) => {
    assert.deepEqual(actual[i].shape, e.shape, `${label}: output ${i} shape`);
    let scale = 0, worst = 0;
    for (let j = 0; j < e.values.length; j++) {
      scale = Math.max(scale, Math.abs(e.values[j]));
      worst = Math.max(worst, Math.abs(e.values[j] - actual[i].values[j]));
    }
    assert.ok(Number.isFinite(worst) && worst <= TOLERANCE * Math.max(scale, 1e-6),
      `${label}: output ${i} off by ${worst} (max |value| ${scale})`);
  });
}

function matchesCpu(label, f, inputs) {
  const wasmBackend = tf.findBackend('wasm');
  const dataIdsBefore = wasmBackend.numDataIds();
  assertClose(label, onBackend('cpu', f, inputs), onBackend('wasm', f, inputs));
  assert.equal(wasmBackend.numDataIds(), dataIdsBefore, `${label}: wasm buffers leaked`);
}

/** A weighted sum, so every output position gets its own upstream gradient. */
function weightedSum(y) {
  const weights = tf.sin(tf.range(1, y.size + 1).reshape(y.shape));
  return tf.sum(tf.mul(y, weights));
}

const PADS = ['same', 'valid', [[0, 0], [1, 0], [0, 2], [0, 0]]];

function convCases(seed, count) {
  const random = seededRandom(seed);
  const pick = (list) => list[Math.floor(random() * list.length)];
  const cases = [];
  for (let i = 0; i < count; i++) {
    const stride = [1, 2][i % 2];
    const kernel = pick([1, 2, 3, 3, 5]);
    const pad = PADS[Math.floor(i / 2) % PADS.length];
    cases.push({
      batch: 1 + Math.floor(random() * 3), height: kernel + 1 + Math.floor(random() * 9),
      width: kernel + 1 + Math.floor(random() * 9), channels: 1 + Math.floor(random() * 6),
      outChannels: 1 + Math.floor(random() * 7), multiplier: 1 + (i % 2 === 0 ? 0 : Math.floor(random() * 2)),
      stride, kernel, pad,
    });
  }
  // The reference CNN's own layer shapes, cut down in batch.
  const layer = { batch: 2, kernel: 3, pad: 'same' };
  cases.push({ ...layer, height: 16, width: 16, channels: 16, outChannels: 32, multiplier: 1, stride: 2 });
  cases.push({ ...layer, height: 8, width: 8, channels: 32, outChannels: 32, multiplier: 2, stride: 1 });
  return cases;
}

test('the backend starts, and registering twice changes nothing', () => {
  assert.equal(status.ok, true);
  assert.equal(status.threads, 1, 'Node never gets the threaded binary');
  assert.deepEqual(registerWasmTrainingKernels(tf), []);
  for (const name of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter',
    'DepthwiseConv2dNativeBackpropInput']) {
    assert.ok(tf.getKernel(name, 'wasm'), `${name} is registered for wasm`);
  }
});

test('conv2d gradients (x and filter) match cpu', () => {
  for (const c of convCases(7, 14)) {
    const random = seededRandom(c.batch * 1000 + c.height * 10 + c.kernel);
    const label = `conv2d ${JSON.stringify(c)}`;
    matchesCpu(label, (x, w) => tf.grads((x, w) => weightedSum(tf.conv2d(x, w, c.stride, c.pad)))([x, w]), [
      randomValues(random, [c.batch, c.height, c.width, c.channels]),
      randomValues(random, [c.kernel, c.kernel, c.channels, c.outChannels]),
    ]);
  }
});

test('depthwise conv gradients (x and filter) match cpu, channel multipliers 1 and 2', () => {
  const multipliers = new Set();
  for (const c of convCases(11, 14)) {
    multipliers.add(c.multiplier);
    const random = seededRandom(c.batch * 1000 + c.width * 10 + c.kernel);
    const label = `depthwiseConv2d ${JSON.stringify(c)}`;
    matchesCpu(label, (x, w) => tf.grads((x, w) => weightedSum(tf.depthwiseConv2d(x, w, c.stride, c.pad)))([x, w]), [
      randomValues(random, [c.batch, c.height, c.width, c.channels]),
      randomValues(random, [c.kernel, c.kernel, c.channels, c.multiplier]),
    ]);
  }
  assert.deepEqual([...multipliers].sort(), [1, 2]);
});

test('the backprop kernels match cpu when called directly, NCHW included', () => {
  const random = seededRandom(3);
  const x = randomValues(random, [2, 9, 7, 3]);
  const dy = randomValues(random, [2, 5, 4, 4]);
  const filter = randomValues(random, [3, 3, 3, 4]);
  const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
  matchesCpu('Conv2DBackpropFilter', (x, dy) => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy },
    { ...attrs, filterShape: [3, 3, 3, 4] }), [x, dy]);
  matchesCpu('Conv2DBackpropInput', (dy, filter) => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter },
    { ...attrs, inputShape: [2, 9, 7, 3] }), [dy, filter]);
  const nchw = { ...attrs, dataFormat: 'NCHW' };
  matchesCpu('Conv2DBackpropFilter NCHW', (x, dy) => tf.engine().runKernel('Conv2DBackpropFilter',
    { x: tf.transpose(x, [0, 3, 1, 2]), dy: tf.transpose(dy, [0, 3, 1, 2]) }, { ...nchw, filterShape: [3, 3, 3, 4] }),
  [x, dy]);
  const dwFilter = randomValues(random, [3, 3, 3, 2]);
  const dwDy = randomValues(random, [2, 5, 4, 6]);
  const dwAttrs = { strides: 2, pad: 'same', dilations: 1, dimRoundingMode: undefined };
  matchesCpu('DepthwiseConv2dNativeBackpropFilter', (x, dy) => tf.engine().runKernel(
    'DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...dwAttrs, filterShape: [3, 3, 3, 2] }), [x, dwDy]);
  matchesCpu('DepthwiseConv2dNativeBackpropInput', (dy, filter) => tf.engine().runKernel(
    'DepthwiseConv2dNativeBackpropInput', { dy, filter }, { ...dwAttrs, inputShape: [2, 9, 7, 3] }), [dwDy, dwFilter]);
});

/** Every layer kind our architectures use: regular and separable convs, relu, leaky relu, relu6, add, concatenate. */
function blocksModel(seed) {
  const init = (i) => tf.initializers.glorotNormal({ seed: seed + i });
  const input = tf.input({ shape: [12, 12, 3] });
  let h = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init(1) })
    .apply(input);
  h = tf.layers.leakyReLU({ alpha: 0.1 }).apply(h);
  const a = tf.layers.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', depthMultiplier: 2,
    depthwiseInitializer: init(2), pointwiseInitializer: init(3), activation: 'relu6' }).apply(h);
  h = tf.layers.add().apply([h, a]);
  const b = tf.layers.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', depthwiseInitializer: init(4),
    pointwiseInitializer: init(5) }).apply(h);
  h = tf.layers.concatenate().apply([h, tf.layers.reLU({ maxValue: 6 }).apply(b)]);
  h = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'valid', depthwiseInitializer: init(6),
    activation: 'relu' }).apply(h);
  h = tf.layers.globalAveragePooling2d({}).apply(h);
  const output = tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: init(7) }).apply(h);
  return tf.model({ inputs: input, outputs: output });
}

test('gradients through leaky relu, relu6, add and concatenate blocks match cpu', () => {
  const random = seededRandom(5);
  const xs = randomValues(random, [3, 12, 12, 3]);
  const labels = { values: new Float32Array([1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0]), shape: [3, 4] };
  const grads = (backendName) => {
    tf.setBackend(backendName);
    const model = blocksModel(40);
    const result = onBackend(backendName, (x, y) => {
      const variables = model.trainableWeights.map((w) => w.read());
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x)), variables);
      return [value, ...variables.map((v) => grads[v.name])];
    }, [xs, labels]);
    model.dispose();
    return result;
  };
  assertClose('blocks model gradients', grads('cpu'), grads('wasm'));
});

/** The reference CNN, small: conv 8 s2 + 2 x [sepconv s2, sepconv s1] 16/32 + GAP + dense 10. */
function smallReferenceModel() {
  const init = (i) => tf.initializers.glorotNormal({ seed: 100 + i });
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [24, 24, 3], filters: 8, kernelSize: 3, strides: 2, padding: 'same',
    activation: 'relu', kernelInitializer: init(0) }));
  [16, 32].forEach((filters, stage) => {
    for (const strides of [2, 1]) {
      model.add(tf.layers.separableConv2d({ filters, kernelSize: 3, strides, padding: 'same', activation: 'relu',
        depthwiseInitializer: init(10 * stage + strides), pointwiseInitializer: init(10 * stage + strides + 5) }));
    }
  });
  model.add(tf.layers.globalAveragePooling2d({}));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(99) }));
  return model;
}

async function trainSteps(backendName, steps) {
  await tf.setBackend(backendName);
  const random = seededRandom(21);
  const x = tf.tensor(randomValues(random, [8, 24, 24, 3]).values, [8, 24, 24, 3]);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10);
  const model = smallReferenceModel();
  const optimizer = tf.train.adam(0.001);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const losses = [], tensorCounts = [], bufferCounts = [];
  for (let i = 0; i < steps; i++) {
    losses.push(await model.trainOnBatch(x, y));
    tensorCounts.push(tf.memory().numTensors);
    bufferCounts.push(tf.backend().numDataIds());
  }
  model.dispose();
  optimizer.dispose();
  tf.dispose([x, y]);
  return { losses, tensorCounts, bufferCounts };
}

test('a few Adam steps of the small reference CNN follow the cpu loss trajectory, without leaks', async () => {
  const steps = 6;
  const cpu = await trainSteps('cpu', steps);
  const onWasm = await trainSteps('wasm', steps);
  onWasm.losses.forEach((loss, i) => {
    assert.ok(Math.abs(loss - cpu.losses[i]) <= 1e-3 * Math.abs(cpu.losses[i]),
      `step ${i}: wasm loss ${loss} vs cpu ${cpu.losses[i]}`);
  });
  assert.ok(onWasm.losses[steps - 1] < onWasm.losses[0], `loss falls: ${onWasm.losses}`);
  // Step 1 creates the optimizer's slots; from then on nothing may accumulate.
  assert.deepEqual(onWasm.tensorCounts.slice(1), Array(steps - 1).fill(onWasm.tensorCounts[1]));
  assert.deepEqual(onWasm.bufferCounts.slice(1), Array(steps - 1).fill(onWasm.bufferCounts[1]));
});
