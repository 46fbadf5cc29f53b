// Evaluated in the app's /train page: the real Trainer (static/js/train/loop.js) for `totalSteps` steps on `backend`,
// fed by a PixelCache the way TrainingSession feeds it, with tf.memory() sampled every `every` steps (tip 13).
async ({ backend = 'wasm', inputSize = 32, batchSize = 8, trainCount = 400, valCount = 80, totalSteps = 1000,
  every = 50, seed = 1 }) => {
  const tf = globalThis.tf;
  const { chooseBackend } = await import('/static/js/train/backend.js');
  const { buildModel, resolveModelConfig } = await import('/static/js/model/builder.js');
  const { getTask } = await import('/static/js/model/tasks.js');
  const { Trainer } = await import('/static/js/train/loop.js');
  const { PixelCache } = await import('/static/js/data/images.js');
  const { yieldToPage } = await import('/static/js/train/page_yield.js');
  const choice = await chooseBackend(backend);
  if (choice.backend !== backend) return { available: false, reason: choice.reason };

  const classes = Array.from({ length: 10 }, (_, i) => `class${i}`);
  const items = trainCount + valCount;
  // Resized pixels as PixelCache.fill leaves them (random here: the tensor count does not depend on the content).
  const pixels = new PixelCache(inputSize);
  pixels.pixels = new Uint8Array(items * pixels.stride);
  for (let i = 0; i < pixels.pixels.length; i++) pixels.pixels[i] = (i * 2654435761 + seed) >>> 24;
  pixels.count = items;
  const labels = Array.from({ length: items }, (_, i) => classes[i % classes.length]);
  const task = getTask('classification');
  const batchOf = (offset) => (indices) => ({
    xs: pixels.batch(indices.map((i) => i + offset), 'unit'),
    ys: task.encodeLabels(indices.map((i) => labels[i + offset]), classes),
  });

  const pageOwn = tf.memory().numTensors;
  const model = buildModel(resolveModelConfig({ numClasses: classes.length, inputSize, seed }), task);
  const optimizer = tf.train.adam(0.001);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const before = tf.memory();
  const stepsPerEpoch = Math.ceil(trainCount / batchSize);
  const samples = [];
  let steps = 0;
  const start = performance.now();
  const trainer = new Trainer({
    model, task, optimizer, seed, batchSize, epochs: Math.ceil(totalSteps / stepsPerEpoch),
    trainCount, getBatch: batchOf(0), valCount, getValBatch: batchOf(trainCount), readEvery: 5,
    yieldFn: yieldToPage,  // what TrainingSession passes
    onStep: (info) => {
      steps += 1;
      if (steps % every === 0) {
        const memory = tf.memory();
        samples.push({ step: steps, numTensors: memory.numTensors, numBytes: memory.numBytes, loss: info.loss,
          seconds: (performance.now() - start) / 1000 });
      }
    },
  });
  const result = await trainer.run();
  const weightCounts = { weights: model.weights.length, trainableWeights: model.trainableWeights.length };
  const seconds = (performance.now() - start) / 1000;
  const afterTraining = tf.memory();
  optimizer.dispose();
  model.dispose();
  const afterDispose = tf.memory();
  return {
    available: true, backend: tf.getBackend(), steps, seconds, reason: result.reason,
    epochs: result.epochs.map((e) => ({ epoch: e.epoch, trainLoss: e.train_loss, valLoss: e.val_loss,
      numTensors: e.num_tensors })),
    pageOwn, ...weightCounts,
    before: before.numTensors, afterTraining: afterTraining.numTensors, afterDispose: afterDispose.numTensors,
    samples,
  };
}
