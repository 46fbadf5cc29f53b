import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../static/js/tf.js';
import { BLOCK_TYPES, buildModel, resolveModelConfig } from '../../static/js/model/builder.js';

const inboundNames = (model, layerName) =>
  model.getLayer(layerName).inboundNodes[0].inboundLayers.map((layer) => layer.name);

test('the default config is the reference CNN: 37,466 parameters, 64x64x3 in, 10 probabilities out', () => {
  const model = buildModel();
  assert.equal(model.countParams(), 37466);
  assert.deepEqual(model.inputs[0].shape, [null, 64, 64, 3]);
  assert.deepEqual(model.outputs[0].shape, [null, 10]);
  const convs = model.layers.filter((l) => /Conv2D$/.test(l.getClassName())).map((l) => l.getClassName());
  assert.deepEqual(convs, ['Conv2D', ...new Array(6).fill('SeparableConv2D')]);
});

test('parameter counts match a hand computation for other configs, whatever the block type', () => {
  // stem 3*3*1*4+4 = 40; stage1: down 9*4 + 4*8 + 8 = 76, 2 blocks of 9*8 + 8*8 + 8 = 144;
  // stage2: down 9*8 + 8*12 + 12 = 180, 2 blocks of 9*12 + 12*12 + 12 = 264; head 12*3 + 3 = 39.
  const expected = 40 + 76 + 2 * 144 + 180 + 2 * 264 + 39;
  for (const block of BLOCK_TYPES) {
    const model = buildModel({ inputSize: 16, channels: 1, numClasses: 3, width: 4, stages: [8, 12], blocksPerStage: 2, block });
    assert.equal(model.countParams(), expected, block);
    assert.deepEqual(model.outputs[0].shape, [null, 3]);
  }
  // No stride-1 blocks: stem 27*8+8 = 224; down 9*8 + 8*16 + 16 = 216; head 16*2 + 2 = 34.
  assert.equal(buildModel({ width: 8, stages: [16], blocksPerStage: 0, numClasses: 2 }).countParams(), 474);
});

test('kernels start glorot-normal and biases at zero', async () => {
  const model = buildModel();
  let checked = 0;
  for (const weight of model.weights) {
    const values = Array.from(await weight.read().data());
    if (weight.originalName.endsWith('bias')) {
      assert.ok(values.every((v) => v === 0), `${weight.originalName} is not all zero`);
      continue;
    }
    if (values.length < 400) continue; // too few draws for a stable standard deviation
    const shape = weight.shape;
    const receptive = shape.length === 4 ? shape[0] * shape[1] : 1;
    // A depthwise kernel [3, 3, C, 1] connects each channel to itself only: fan_in = fan_out = 3x3.
    const depthwise = weight.originalName.endsWith('depthwise_kernel');
    const fanIn = depthwise ? receptive : shape.at(-2) * receptive;
    const fanOut = shape.at(-1) * receptive;
    const glorotStd = Math.sqrt(2 / (fanIn + fanOut));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    // tfjs draws from a normal truncated at 2 std without rescaling, so the spread is ~0.88 of the nominal std.
    assert.ok(std > 0.75 * glorotStd && std < 1.05 * glorotStd, `${weight.originalName}: std ${std} vs ${glorotStd}`);
    assert.ok(Math.abs(mean) < 0.25 * glorotStd, `${weight.originalName}: mean ${mean}`);
    checked += 1;
  }
  assert.ok(checked >= 8, `only ${checked} kernels were large enough to check`);
});

test('residual blocks add the block input; dense blocks add every earlier output of the stage', () => {
  const config = { inputSize: 16, width: 4, stages: [8], blocksPerStage: 2, numClasses: 2 };
  const residual = buildModel({ ...config, block: 'residual' });
  assert.deepEqual(inboundNames(residual, 'stage1_block1_add'), ['stage1_down_act', 'stage1_block1']);
  assert.deepEqual(inboundNames(residual, 'stage1_block2_add'), ['stage1_block1_act', 'stage1_block2']);
  const dense = buildModel({ ...config, block: 'dense' });
  assert.deepEqual(inboundNames(dense, 'stage1_block2_add'), ['stage1_down_act', 'stage1_block1', 'stage1_block2']);
  assert.deepEqual(inboundNames(dense, 'stage1_block2'), ['stage1_block1_act']);
  assert.equal(buildModel(config).layers.some((l) => l.getClassName() === 'Add'), false);
});

test('the activation choice reaches every conv: relu6 caps at 6, leakyRelu keeps a slope', () => {
  const config = { inputSize: 16, width: 4, stages: [8], numClasses: 2 };
  const relu6 = buildModel({ ...config, activation: 'relu6' }).getLayer('stem_act');
  assert.equal(relu6.getConfig().maxValue, 6);
  assert.deepEqual(relu6.apply(tf.tensor1d([-1, 3, 9])).arraySync(), [0, 3, 6]);
  const leaky = buildModel({ ...config, activation: 'leakyRelu', alpha: 0.2 }).getLayer('stage1_down_act');
  assert.equal(leaky.getClassName(), 'LeakyReLU');
  assert.ok(Math.abs(leaky.apply(tf.tensor1d([-1])).arraySync()[0] + 0.2) < 1e-6);
});

test('a seed makes the initial weights reproducible', async () => {
  const config = { inputSize: 16, width: 4, stages: [8], numClasses: 2 };
  const weights = async (model) => Promise.all(model.weights.map(async (w) => Array.from(await w.read().data())));
  const a = await weights(buildModel({ ...config, seed: 1 }));
  assert.deepEqual(await weights(buildModel({ ...config, seed: 1 })), a);
  assert.notDeepEqual(await weights(buildModel({ ...config, seed: 2 })), a);
});

test('a bad config is refused with every problem named', () => {
  assert.throws(() => buildModel({ block: 'wide', stages: [] }), (error) =>
    /stages must be/.test(error.message) && /block must be one of plain, residual, dense/.test(error.message));
  assert.throws(() => resolveModelConfig({ activation: 'gelu' }), /activation must be one of relu, leakyRelu, relu6/);
  assert.deepEqual(resolveModelConfig({}).stages, [32, 64, 128]);
});
