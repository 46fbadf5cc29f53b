// Skipping the stem's unused input gradient on wasm: the same gradients as cpu, and only the input's is skipped.
import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { configureWasm } from '../../static/js/train/wasm_kernels.js';
import { skipUnusedInputGradients } from '../../static/js/train/input_gradient.js';
import { buildModel, resolveModelConfig } from '../../static/js/model/builder.js';
import { getTask } from '../../static/js/model/tasks.js';
import { Trainer } from '../../static/js/train/loop.js';

const tf = globalThis.tf;
const TOLERANCE = 1e-4;
await configureWasm(tf, { wasm });
await tf.setBackend('cpu');

/** Two linear convs (tfjs fuses both): the first's input is the images, the second's depends on the first's weights. */
function twoConvModel() {
  const init = (i) => tf.initializers.glorotNormal({ seed: 60 + i });
  const input = tf.input({ shape: [10, 10, 3] });
  let h = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init(0),
    biasInitializer: 'ones' }).apply(input);
  h = tf.layers.leakyReLU({ alpha: 0.1 }).apply(h);
  h = tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init(1) })
    .apply(h);
  h = tf.layers.globalAveragePooling2d({}).apply(h);
  const output = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(2) }).apply(h);
  return tf.model({ inputs: input, outputs: output });
}

/** The loss and every weight's gradient on `backend`, with the skip asked for; plus how many convs it marked. */
function gradients(backend) {
  tf.setBackend(backend);
  const model = twoConvModel();
  const result = tf.tidy(() => {
    const xs = tf.randomUniform([3, 10, 10, 3], -1, 1, 'float32', 5);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2], 'int32'), 3);
    const variables = model.trainableWeights.map((w) => w.read());
    let marked = 0;
    const { value, grads } = tf.variableGrads(() => {
      const loss = tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }));
      marked = skipUnusedInputGradients(tf, variables);
      return loss;
    }, variables);
    return { marked, values: [value, ...variables.map((v) => grads[v.name])].map((t) => t.dataSync().slice()) };
  });
  model.dispose();
  return result;
}

test('on wasm only the convolution of the images is marked, and every gradient still matches cpu', () => {
  const cpu = gradients('cpu');
  const onWasm = gradients('wasm');
  assert.equal(cpu.marked, 0, 'nothing is skipped off wasm');
  assert.equal(onWasm.marked, 1, 'the first conv is marked; the second, whose input depends on weights, is not');
  cpu.values.forEach((expected, i) => {
    let worst = 0, scale = 0;
    expected.forEach((e, j) => {
      scale = Math.max(scale, Math.abs(e));
      worst = Math.max(worst, Math.abs(e - onWasm.values[i][j]));
    });
    assert.ok(worst <= TOLERANCE * Math.max(scale, 1e-6), `output ${i} off by ${worst} (max ${scale})`);
  });
});

test('a wasm training step skips the images\' input gradient: no strided backprop-input over the batch', async () => {
  await tf.setBackend('wasm');
  const task = getTask('classification');
  const model = buildModel(resolveModelConfig({ numClasses: 3, inputSize: 32, seed: 3 }), task);
  const optimizer = tf.train.adam(0.001);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const trainer = new Trainer({ model, task, optimizer, getBatch: () => null, trainCount: 4, batchSize: 4, epochs: 1,
    seed: 3 });
  const xs = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 2);
  const ys = task.encodeLabels([0, 1, 2, 0], ['a', 'b', 'c']);
  // The stem (3x3, stride 2, 3 -> 16 channels) computes its input gradient as cols [1, pixels, 3*3*3] = dy @ Wᵀ.
  const stemCols = [1, 4 * 16 * 16, 27].join();
  const backend = tf.backend();
  const makeOutput = backend.makeOutput;
  const shapes = [];
  backend.makeOutput = function (shape, ...rest) {
    shapes.push(shape.join());
    return makeOutput.call(this, shape, ...rest);
  };
  try {
    for (let i = 0; i < 2; i++) {
      const result = trainer.trainStep(xs, ys, [1, 1, 1, 1]);
      await result.loss.data();
      tf.dispose([result.loss, ...Object.values(result.metrics)]);
    }
  } finally {
    backend.makeOutput = makeOutput;
  }
  assert.ok(shapes.length > 100, 'the spy saw the step');
  assert.ok(!shapes.includes(stemCols), 'the images\' input gradient was computed');
  tf.dispose([xs, ys]);
  model.dispose();
  optimizer.dispose();
});
