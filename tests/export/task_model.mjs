/**
 * An untrained detection or landmarks model from the project's own builder, saved as the train page's snapshot POST
 * sends it (model.json + model.weights.bin), for export tests that need a task's head without a training run.
 *
 *   node task_model.mjs < {"task": "detection", "config": {inputSize, width, stages, numClasses, numAnchors | numPoints},
 *                          "out": DIR}
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

globalThis.tf = tf;
await tf.setBackend('cpu');
const { buildModel } = await import('../../static/js/model/builder.js');

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const job = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const model = buildModel(job.config, job.task);
await model.save(tf.io.withSaveHandler(async (artifacts) => {
  const modelJson = {
    modelTopology: artifacts.modelTopology, format: 'layers-model', generatedBy: 'TensorFlow.js tfjs-layers v4.22.0',
    convertedBy: null, weightsManifest: [{ paths: ['./model.weights.bin'], weights: artifacts.weightSpecs }],
  };
  await writeFile(join(job.out, 'model.json'), JSON.stringify(modelJson));
  await writeFile(join(job.out, 'model.weights.bin'), Buffer.from(artifacts.weightData));
  return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
}));
process.stdout.write(`${JSON.stringify({ outputs: model.outputs[0].shape })}\n`);
