// Evaluated in the app's /train page: trains the reference CNN (buildModel's defaults, 10 classes) with the app's own
// backend picker and Trainer.trainStep on one fixed synthetic batch per batch size, so only compute is timed.
// op 'setup': activate the backend, build one model per batch size, warm up, size the timing window.
// op 'window': one timed window of `steps` steps, with one await at its end (the losses are read as the loop reads them).
// op 'stock': can the wasm backend train as tfjs ships it (without our kernels)?
// op 'profile': one step under tf.profile: time per kernel name against the step's wall time.
async ({ op, backend, batchSizes, batchSize, runBatchSize = null, warmupSteps = 3, windowSeconds = 1, seed = 1 }) => {
  const tf = globalThis.tf;
  const state = (globalThis.benchThroughput ??= { runs: new Map(), info: null });
  const CLASSES = Array.from({ length: 10 }, (_, i) => `class${i}`);

  async function wasmInfo() {
    return {
      crossOriginIsolated: globalThis.crossOriginIsolated,
      hardwareConcurrency: navigator.hardwareConcurrency,
      threads: tf.wasm.getThreadsCount(),
      simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
      multithread: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
      binary: performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.endsWith('.wasm'))
        .map((n) => n.split('/').pop()),
    };
  }

  async function oneStep(run) {
    const result = run.trainer.trainStep(run.xs, run.ys, run.weights);
    const [value] = await result.loss.data();
    tf.dispose([result.loss, ...Object.values(result.metrics)]);
    return value;
  }

  if (op === 'stock') {
    // The stock backend, exactly as shipped: no training kernels registered, default thread count.
    tf.wasm.setWasmPaths('/vendor/tfjs-backend-wasm/');
    await tf.setBackend('wasm');
    await tf.ready();
    const { buildModel, resolveModelConfig } = await import('/static/js/model/builder.js');
    const model = buildModel(resolveModelConfig({ numClasses: 10, seed }), 'classification');
    const optimizer = tf.train.adam(0.001);
    const xs = tf.randomUniform([2, 64, 64, 3]);
    const ys = tf.oneHot(tf.tensor1d([0, 1], 'int32'), 10);
    try {
      const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true })), true);
      await loss.data();
      return { trains: true };
    } catch (err) {
      return { trains: false, error: err.message };
    } finally {
      tf.dispose([xs, ys]);
      model.dispose();
      optimizer.dispose();
    }
  }

  if (op === 'setup') {
    const { chooseBackend, gpuRenderer } = await import('/static/js/train/backend.js');
    const { buildModel, resolveModelConfig } = await import('/static/js/model/builder.js');
    const { getTask } = await import('/static/js/model/tasks.js');
    const { Trainer } = await import('/static/js/train/loop.js');
    // The app's own path (the wasm configuration, its thread count and our kernels included). An explicit choice
    // that cannot run falls back to 'auto': then this backend is unavailable here.
    // runBatchSize: the run's batch size the backend is configured for (wasm's threads), as a session passes it.
    const choice = await chooseBackend(backend, { batchSize: runBatchSize ?? undefined });
    if (choice.backend !== backend) {
      return { available: false, reason: choice.probes[backend]?.error ?? choice.reason };
    }
    const info = { available: true, backend: tf.getBackend(), probe: choice.probes[backend] };
    if (backend === 'wasm') info.wasm = await wasmInfo();
    // What webgl and webgpu really ran on is asked by bench/js/gpu_probe.js (under --gpu); these name it here.
    if (backend === 'webgl') info.renderer = gpuRenderer();
    if (backend === 'webgpu') {
      const adapterInfo = tf.backend().adapterInfo;
      info.adapter = adapterInfo ? `${adapterInfo.vendor} ${adapterInfo.architecture}`.trim() : null;
    }
    const task = getTask('classification');
    info.calibration = {};
    for (const size of batchSizes) {
      const model = buildModel(resolveModelConfig({ numClasses: CLASSES.length, seed }), task);
      const optimizer = tf.train.adam(0.001);
      model.compile({ optimizer, loss: 'categoricalCrossentropy' });
      const trainer = new Trainer({ model, task, optimizer, getBatch: () => null, trainCount: size, batchSize: size,
        epochs: 1, seed });
      const run = {
        model, optimizer, trainer,
        xs: tf.randomUniform([size, 64, 64, 3], 0, 1, 'float32', seed),
        ys: task.encodeLabels(Array.from({ length: size }, (_, i) => i % CLASSES.length), CLASSES),
        weights: Array(size).fill(1),
        firstLoss: null,
        lastLoss: null,
      };
      const warmStart = performance.now();
      for (let i = 0; i < warmupSteps; i++) {
        const value = await oneStep(run);
        run.firstLoss ??= value;
      }
      const warmSeconds = (performance.now() - warmStart) / 1000;
      // The fastest of three steps sizes the window, so one disturbed step cannot make every window short.
      let stepSeconds = Infinity;
      for (let i = 0; i < 3; i++) {
        const stepStart = performance.now();
        await oneStep(run);
        stepSeconds = Math.min(stepSeconds, (performance.now() - stepStart) / 1000);
      }
      run.steps = Math.max(1, Math.min(1000, Math.ceil(windowSeconds / stepSeconds)));
      state.runs.set(size, run);
      info.calibration[size] = { warmupSeconds: warmSeconds, stepSeconds, stepsPerWindow: run.steps,
        params: model.countParams() };
    }
    state.info = info;
    return info;
  }

  if (op === 'window') {
    const run = state.runs.get(batchSize);
    const results = [];
    const start = performance.now();
    for (let i = 0; i < run.steps; i++) results.push(run.trainer.trainStep(run.xs, run.ys, run.weights));
    const stacked = tf.tidy(() => tf.stack(results.map((r) => r.loss)));
    const losses = await stacked.data();
    const seconds = (performance.now() - start) / 1000;
    stacked.dispose();
    for (const r of results) tf.dispose([r.loss, ...Object.values(r.metrics)]);
    run.lastLoss = losses[losses.length - 1];
    return { steps: run.steps, seconds, imagesPerSecond: (run.steps * batchSize) / seconds, firstLoss: run.firstLoss,
      lastLoss: run.lastLoss, numTensors: tf.memory().numTensors };
  }
  if (op === 'profile') {
    // Where one step's time goes (tf.profile): per-kernel time against the step's wall time. Kernels are timed by
    // the engine around each call; what is left of the wall time is outside kernels (JS: op dispatch, the gradient
    // tape, tidy scopes, Adam's bookkeeping). On webgl/webgpu kernel times are not comparable: wasm and cpu only.
    const run = state.runs.get(batchSize);
    const walls = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      await oneStep(run);
      walls.push(performance.now() - start);
    }
    walls.sort((a, b) => a - b);
    const profile = await tf.profile(async () => {
      const result = run.trainer.trainStep(run.xs, run.ys, run.weights);
      await result.loss.data();
      tf.dispose([result.loss, ...Object.values(result.metrics)]);
    });
    const byName = {};
    for (const kernel of profile.kernels) {
      const entry = (byName[kernel.name] ??= { calls: 0, ms: 0 });
      entry.calls += 1;
      entry.ms += kernel.kernelTimeMs;
    }
    return { wallMs: walls[1], kernelCalls: profile.kernels.length, kernels: byName };
  }

  throw new Error(`unknown op ${op}`);
}
