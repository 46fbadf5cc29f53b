// Evaluated in the app's /train page: what one training step at a fixed batch costs in input vs compute.
// op 'setup':    activate `backend` the app's way, build the reference CNN, make the JPEG blobs, warm everything up.
// op 'measure':  one measurement of each part, in ms per batch:
//   decode / resize / fromPixels  the uncached path, stage by stage, exactly as PixelCache.fill does it per image
//   fill                          the real PixelCache.fill over the batch's blobs (the three stages together)
//   cachedBatch                   PixelCache.batch(): resized pixels → normalised float32 tensor (every later epoch)
//   compute                       Trainer.trainStep on a ready batch (mean over `steps` steps, one await at the end)
//   cachedStep                    cachedBatch + trainStep together, as the loop runs them (mean over `steps` steps)
async ({ op, backend, images, inputSize = 64, batchSize = 32, steps = 5, seed = 1 }) => {
  const tf = globalThis.tf;
  const state = (globalThis.benchInput ??= {});
  const CLASSES = Array.from({ length: 10 }, (_, i) => `class${i}`);
  const now = () => performance.now();

  if (op === 'setup') {
    const { chooseBackend } = await import('/static/js/train/backend.js');
    const { buildModel, resolveModelConfig } = await import('/static/js/model/builder.js');
    const { getTask } = await import('/static/js/model/tasks.js');
    const { Trainer } = await import('/static/js/train/loop.js');
    const { PixelCache } = await import('/static/js/data/images.js');
    const choice = await chooseBackend(backend);
    if (choice.backend !== backend) return { available: false, reason: choice.probes[backend]?.error ?? choice.reason };
    const task = getTask('classification');
    const model = buildModel(resolveModelConfig({ numClasses: CLASSES.length, inputSize, seed }), task);
    const optimizer = tf.train.adam(0.001);
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    state.trainer = new Trainer({ model, task, optimizer, getBatch: () => null, trainCount: batchSize, batchSize,
      epochs: 1, seed });
    state.PixelCache = PixelCache;
    state.ys = task.encodeLabels(Array.from({ length: batchSize }, (_, i) => i % CLASSES.length), CLASSES);
    state.weights = Array(batchSize).fill(1);
    state.indices = Array.from({ length: batchSize }, (_, i) => i);
    state.blobs = {};
    for (const [source, list] of Object.entries(images)) {
      state.blobs[source] = list.map((b64) => new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))],
        { type: 'image/jpeg' }));
    }
    const first = Object.values(state.blobs)[0];
    state.pixels = await new PixelCache(inputSize).fill(first);
    state.xs = state.pixels.batch(state.indices, 'unit');
    for (let i = 0; i < 3; i++) {  // warm-up: shader compiles, kernel setup, first allocations
      const r = state.trainer.trainStep(state.xs, state.ys, state.weights);
      await r.loss.data();
      tf.dispose([r.loss, ...Object.values(r.metrics)]);
    }
    return { available: true, backend: tf.getBackend() };
  }

  if (op === 'measure') {
    const { trainer, ys, weights, indices, pixels, xs } = state;
    const result = {};
    // The uncached path, stage by stage, mirroring PixelCache.fill (canvas made as it makes it).
    const canvas = new OffscreenCanvas(inputSize, inputSize);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    for (const [source, blobs] of Object.entries(state.blobs)) {
      let decode = 0, resize = 0, fromPixels = 0;
      const out = new Uint8Array(blobs.length * inputSize * inputSize * 3);
      for (let i = 0; i < blobs.length; i++) {
        let t = now();
        const bitmap = await createImageBitmap(blobs[i]);
        decode += now() - t;
        t = now();
        ctx.clearRect(0, 0, inputSize, inputSize);
        ctx.drawImage(bitmap, 0, 0, inputSize, inputSize);
        bitmap.close();
        resize += now() - t;
        t = now();
        const tensor = tf.browser.fromPixels(canvas, 3);
        out.set(await tensor.data(), i * inputSize * inputSize * 3);
        tensor.dispose();
        fromPixels += now() - t;
      }
      const t = now();
      await new state.PixelCache(inputSize).fill(blobs);
      const fill = now() - t;
      result[source] = { decode, resize, fromPixels, fill };
    }
    const t = now();
    const batch = pixels.batch(indices, 'unit');
    result.cachedBatch = now() - t;
    batch.dispose();

    const run = async (makeInput) => {
      const pending = [];
      const start = now();
      for (let i = 0; i < steps; i++) {
        const input = makeInput();
        pending.push(trainer.trainStep(input, ys, weights));
        if (input !== xs) input.dispose();
      }
      const stacked = tf.tidy(() => tf.stack(pending.map((r) => r.loss)));
      await stacked.data();
      const ms = (now() - start) / steps;
      stacked.dispose();
      for (const r of pending) tf.dispose([r.loss, ...Object.values(r.metrics)]);
      return ms;
    };
    result.compute = await run(() => xs);
    result.cachedStep = await run(() => pixels.batch(indices, 'unit'));
    result.numTensors = tf.memory().numTensors;
    return result;
  }
  throw new Error(`unknown op ${op}`);
}
