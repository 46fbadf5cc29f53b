// Evaluated in the app's /train page: data parallelism over Web Workers, each a replica of the reference CNN on a
// one-thread wasm backend (bench/js/data_parallel_worker.js) that takes an equal share of the batch.
// op 'setup': start `workers` workers for a batch of `batch` (batch / workers each), warm up; keyed `${workers}x${batch}`.
// op 'window': `steps` synchronous data-parallel steps: each worker's gradients are averaged here and sent back.
async ({ op, workerSource, workers: count, batch, steps = 10, warmupSteps = 3, seed = 1 }) => {
  const state = (globalThis.benchDataParallel ??= { groups: new Map() });
  const key = `${count}x${batch}`;

  function call(worker, message, transfer = []) {
    return new Promise((resolve, reject) => {
      worker.onmessage = ({ data }) => (data.error ? reject(new Error(data.error)) : resolve(data));
      worker.postMessage(message, transfer);
    });
  }

  async function runSteps(group, n) {
    for (let i = 0; i < n; i++) {
      const replies = await Promise.all(group.workers.map((w) => call(w, { op: 'step', mean: group.mean })));
      const mean = replies[0].grads;
      for (let r = 1; r < replies.length; r++) {
        const g = replies[r].grads;
        for (let j = 0; j < mean.length; j++) mean[j] += g[j];
      }
      if (replies.length > 1) for (let j = 0; j < mean.length; j++) mean[j] /= replies.length;
      group.mean = mean;
      group.lastLoss = replies.reduce((s, r) => s + r.loss, 0) / replies.length;
      group.firstLoss ??= group.lastLoss;
    }
  }

  if (op === 'setup') {
    if (batch % count !== 0) throw new Error(`a batch of ${batch} does not split into ${count} equal shares`);
    const url = URL.createObjectURL(new Blob([workerSource], { type: 'text/javascript' }));
    const workers = Array.from({ length: count }, () => new Worker(url));
    const infos = await Promise.all(workers.map((w, shard) => call(w, { op: 'init', origin: location.origin,
      batch: batch / count, seed, shard })));
    const group = { workers, mean: null, firstLoss: null, lastLoss: null };
    state.groups.set(key, group);
    await runSteps(group, warmupSteps);
    return { workers: infos, crossOriginIsolated: globalThis.crossOriginIsolated,
      hardwareConcurrency: navigator.hardwareConcurrency };
  }

  if (op === 'window') {
    const group = state.groups.get(key);
    const start = performance.now();
    await runSteps(group, steps);
    const seconds = (performance.now() - start) / 1000;
    return { steps, seconds, imagesPerSecond: (steps * batch) / seconds, firstLoss: group.firstLoss,
      lastLoss: group.lastLoss };
  }

  throw new Error(`unknown op ${op}`);
}
