// The fused Adam update on wasm: the same trajectory, slots and saved state as tfjs's own Adam, with no leaks.
import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { configureWasm } from '../../static/js/train/wasm_kernels.js';
import { fuseAdamOnWasm } from '../../static/js/train/fused_adam.js';

const tf = globalThis.tf;
await configureWasm(tf, { wasm });

/** A small CNN with every kind of weight the app trains: conv, depthwise, pointwise, biases, dense. */
function smallModel() {
  const init = (i) => tf.initializers.glorotNormal({ seed: 40 + i });
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 4, kernelSize: 3, strides: 2, padding: 'same',
    activation: 'relu', kernelInitializer: init(0) }));
  model.add(tf.layers.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu',
    depthwiseInitializer: init(1), pointwiseInitializer: init(2) }));
  model.add(tf.layers.globalAveragePooling2d({}));
  model.add(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(3) }));
  return model;
}

const batch = () => tf.tidy(() => ({
  xs: tf.randomUniform([6, 12, 12, 3], 0, 1, 'float32', 7),
  ys: tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3),
}));

/** `steps` Adam steps; `lrAt(step)` may change the rate between steps. Returns losses, weights and saved state. */
async function train({ backend, fused, steps, lrAt = () => 0.01, model = smallModel(), optimizer = null }) {
  await tf.setBackend(backend);
  const { xs, ys } = batch();
  const adam = optimizer ?? tf.train.adam(0.01);
  if (fused) fuseAdamOnWasm(adam);
  const losses = [], tensorCounts = [], bufferCounts = [];
  for (let i = 0; i < steps; i++) {
    adam.learningRate = lrAt(i);
    const loss = adam.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true })), true);
    losses.push((await loss.data())[0]);
    loss.dispose();
    tensorCounts.push(tf.memory().numTensors);
    bufferCounts.push(tf.backend().numDataIds());
  }
  const weights = model.getWeights().map((w) => w.dataSync().slice());
  const state = await adam.getWeights();
  const saved = state.map(({ name, tensor }) => ({ name, values: tensor.dataSync().slice() }));
  tf.dispose([xs, ys, state[0].tensor]);  // the iterations scalar is made by getWeights
  return { losses, weights, saved, iterations: adam.iterations, tensorCounts, bufferCounts, model, adam };
}

function assertClose(actual, expected, label, tolerance = 1e-5) {
  assert.equal(actual.length, expected.length, label);
  for (let i = 0; i < expected.length; i++) {
    const scale = Math.max(1, Math.abs(expected[i]));
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance * scale, `${label}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

function assertSameRun(fused, stock) {
  assertClose(fused.losses, stock.losses, 'loss');
  fused.weights.forEach((w, i) => assertClose(w, stock.weights[i], `weight ${i}`));
  // Slot names carry each model's own auto-numbered layer names: compare them without the numbers.
  const shape = (name) => name.replace(/\d+/g, '#');
  assert.deepEqual(fused.saved.map((s) => shape(s.name)), stock.saved.map((s) => shape(s.name)));
  fused.saved.forEach((s, i) => assertClose(s.values, stock.saved[i].values, s.name));
  assert.equal(fused.iterations, stock.iterations);
}

function cleanUp(...runs) {
  for (const run of runs) {
    run.model.dispose();
    run.adam.dispose();
  }
}

test('on wasm the fused update follows tfjs Adam step for step, learning-rate changes included, without leaks', async () => {
  const lrAt = (step) => (step < 4 ? 0.01 : 0.001);
  const stock = await train({ backend: 'wasm', fused: false, steps: 8, lrAt });
  const fused = await train({ backend: 'wasm', fused: true, steps: 8, lrAt });
  assertSameRun(fused, stock);
  assert.ok(fused.losses.at(-1) < fused.losses[0], `the loss falls: ${fused.losses}`);
  // Step 1 creates the slots; from then on nothing accumulates, in tfjs's books or in the wasm heap.
  assert.deepEqual(fused.tensorCounts.slice(1), Array(7).fill(fused.tensorCounts[1]));
  assert.deepEqual(fused.bufferCounts.slice(1), Array(7).fill(fused.bufferCounts[1]));
  cleanUp(stock, fused);
});

test('a fused step dispatches ~13 fewer kernels per weight than tfjs Adam on wasm', async () => {
  await tf.setBackend('wasm');
  const { xs, ys } = batch();
  const kernelsPerStep = async (fused) => {
    const model = smallModel();
    const adam = fused ? fuseAdamOnWasm(tf.train.adam(0.01)) : tf.train.adam(0.01);
    const step = () => tf.dispose(adam.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs)), true));
    step();  // creates the slots
    const { kernels } = await tf.profile(step);
    const weights = model.trainableWeights.length;
    model.dispose();
    adam.dispose();
    return { count: kernels.length, weights };
  };
  const stock = await kernelsPerStep(false);
  const fused = await kernelsPerStep(true);
  assert.ok(fused.count <= stock.count - 12 * stock.weights, `${fused.count} kernels vs ${stock.count} for ${stock.weights} weights`);
  tf.dispose([xs, ys]);
});

test('its saved state resumes: 3 fused steps, save, load into a fresh optimizer, 3 more = 6 steps of tfjs Adam', async () => {
  const stock = await train({ backend: 'wasm', fused: false, steps: 6 });
  const first = await train({ backend: 'wasm', fused: true, steps: 3 });
  const model = smallModel();
  model.setWeights(first.model.getWeights());
  const adam = tf.train.adam(0.01);
  const state = await first.adam.getWeights();
  const copies = state.map(({ name, tensor }) => ({ name, tensor: tf.clone(tensor) }));
  await adam.setWeights(copies);
  tf.dispose([state[0].tensor, copies[0].tensor]);
  const second = await train({ backend: 'wasm', fused: true, steps: 3, model, optimizer: adam });
  assertSameRun({ ...second, losses: [...first.losses, ...second.losses] }, stock);
  cleanUp(stock, first, second);
});

test('weights made on another backend before a switch to wasm are moved into the heap and trained', async () => {
  // The fused update reads through the backend's data storage, which moves data from another backend on first read.
  await tf.setBackend('cpu');
  const model = smallModel();   // its weights live in the cpu backend's memory
  const adam = fuseAdamOnWasm(tf.train.adam(0.01));  // its beta-power scalars too
  await tf.setBackend('wasm');
  const { xs, ys } = batch();
  const losses = [];
  for (let i = 0; i < 3; i++) {
    const loss = adam.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs)), true);
    losses.push((await loss.data())[0]);
    loss.dispose();
  }
  assert.ok(losses.every(Number.isFinite) && losses[2] < losses[0], `losses ${losses}`);
  tf.dispose([xs, ys]);
  model.dispose();
  adam.dispose();
});

test('on any other backend the stock update runs unchanged', async () => {
  const stock = await train({ backend: 'cpu', fused: false, steps: 3 });
  const fused = await train({ backend: 'cpu', fused: true, steps: 3 });
  assert.deepEqual(fused.losses, stock.losses);
  fused.weights.forEach((w, i) => assert.deepEqual(w, stock.weights[i]));
  cleanUp(stock, fused);
  const sgd = tf.train.sgd(0.1);
  const ownUpdate = sgd.applyGradients;
  assert.equal(fuseAdamOnWasm(sgd), sgd);
  assert.equal(sgd.applyGradients, ownUpdate, 'only Adam is fused');
  sgd.dispose();
});
