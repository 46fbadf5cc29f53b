/**
 * Real tfjs 4.22 model.json files, as `model.save(tf.io.http(url), {includeOptimizer: true})` sends them after one
 * training step: the builder's three block types and three activations, and a MobileNet-style backbone (every layer
 * class such a feature extractor uses, a functional model and a Sequential nested inside) wrapped with a head.
 *   node topologies.mjs > {name: model.json}
 */
import * as tf from '@tensorflow/tfjs';

globalThis.tf = tf;
await tf.setBackend('cpu');
const { buildModel } = await import('../../static/js/model/builder.js');

/** The model.json tf.io.http would send, after one Adam step (so the optimizer's moments exist). */
async function modelJson(model) {
  model.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy' });
  const [, h, w, c] = model.inputs[0].shape;
  const classes = model.outputs[0].shape[1];
  await model.trainOnBatch(tf.randomUniform([2, h, w, c]), tf.oneHot(tf.tensor1d([0, 1], 'int32'), classes));
  let saved;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    saved = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }), { includeOptimizer: true });
  return {
    modelTopology: saved.modelTopology,
    format: saved.format,
    generatedBy: saved.generatedBy,
    convertedBy: saved.convertedBy,
    trainingConfig: saved.trainingConfig,
    weightsManifest: [{ paths: ['./model.weights.bin'], weights: saved.weightSpecs }],
  };
}

/** A small MobileNet-like feature extractor: every layer class the allow-list admits for pretrained backbones. */
function backbone() {
  const input = tf.input({ shape: [32, 32, 3], name: 'backbone_input' });
  let x = tf.layers.rescaling({ scale: 1 / 127.5, offset: -1 }).apply(input);
  x = tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]] }).apply(x);
  x = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, useBias: false }).apply(x);
  x = tf.layers.batchNormalization({ momentum: 0.99, epsilon: 0.001 }).apply(x);
  x = tf.layers.reLU({ maxValue: 6 }).apply(x);
  let y = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }).apply(x);
  y = tf.layers.batchNormalization({}).apply(y);
  y = tf.layers.activation({ activation: 'relu6' }).apply(y);
  x = tf.layers.add().apply([x, y]);
  let z = tf.layers.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same' }).apply(x);
  z = tf.layers.concatenate().apply([x, z]);
  z = tf.layers.multiply().apply([z, z]);
  z = tf.layers.maxPooling2d({ poolSize: 2 }).apply(z);
  z = tf.layers.averagePooling2d({ poolSize: 2 }).apply(z);
  const features = tf.layers.concatenate().apply([
    tf.layers.globalAveragePooling2d({}).apply(z), tf.layers.globalMaxPooling2d({}).apply(z)]);
  let h = tf.layers.reshape({ targetShape: [4, 8] }).apply(features);
  h = tf.layers.flatten().apply(h);
  h = tf.layers.dropout({ rate: 0.2 }).apply(h);
  h = tf.layers.leakyReLU({ alpha: 0.1 }).apply(h);
  return tf.model({ inputs: input, outputs: h, name: 'mobilenet_style' });
}

function withPretrainedBackbone() {
  const image = tf.input({ shape: [32, 32, 3], name: 'image' });
  const features = backbone().apply(image);
  const projection = tf.sequential({ name: 'projection', layers: [
    tf.layers.dense({ inputShape: [32], units: 16 }), tf.layers.reLU({})] }).apply(features);
  const logits = tf.layers.dense({ units: 3, name: 'logits' }).apply(projection);
  const output = tf.layers.softmax({ name: 'head' }).apply(logits);
  return tf.model({ inputs: image, outputs: output, name: 'pretrained_with_head' });
}

const models = {};
for (const block of ['plain', 'residual', 'dense']) {
  for (const activation of ['relu', 'leakyRelu', 'relu6']) {
    const config = { inputSize: 16, numClasses: 3, width: 4, stages: [8, 8], blocksPerStage: 2, block, activation, seed: 1 };
    models[`builder-${block}-${activation}`] = await modelJson(buildModel(config));
  }
}
models['pretrained-backbone-with-head'] = await modelJson(withPretrainedBackbone());
process.stdout.write(JSON.stringify(models));
