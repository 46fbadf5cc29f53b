// The body of one Web Worker of bench/js/data_parallel.js (made from a Blob of this text): a replica of the reference
// CNN on a wasm backend of one thread, with the app's training kernels and fused Adam. Every reply carries this
// replica's gradients for its share of the batch; the page averages them and sends the mean back with the next step,
// so all replicas apply the same update and stay equal.
let replica = null;

async function init({ origin, batch, seed, shard }) {
  // tf.min.js assigns the global regeneratorRuntime, falling back to Function() (refused by the CSP) where that
  // throws, as it does here: declaring it first lets the plain assignment succeed.
  self.regeneratorRuntime = undefined;
  self.importScripts(`${origin}/vendor/tfjs/tf.min.js`, `${origin}/vendor/tfjs-backend-wasm/tf-backend-wasm.min.js`);
  const tf = self.tf;
  const { configureWasm } = await import(`${origin}/static/js/train/wasm_kernels.js`);
  const { fuseAdamOnWasm } = await import(`${origin}/static/js/train/fused_adam.js`);
  const { skipUnusedInputGradients } = await import(`${origin}/static/js/train/input_gradient.js`);
  const { buildModel, resolveModelConfig } = await import(`${origin}/static/js/model/builder.js`);
  const { getTask } = await import(`${origin}/static/js/model/tasks.js`);
  const status = await configureWasm(tf, { wasmPaths: `${origin}/vendor/tfjs-backend-wasm/`, threads: 1 });
  const task = getTask('classification');
  const model = buildModel(resolveModelConfig({ numClasses: 10, seed }), task);
  const optimizer = fuseAdamOnWasm(tf.train.adam(0.001));
  const classes = Array.from({ length: 10 }, (_, i) => `class${i}`);
  const xs = tf.randomUniform([batch, 64, 64, 3], 0, 1, 'float32', seed + shard);
  const ys = task.encodeLabels(Array.from({ length: batch }, (_, i) => (i + shard * batch) % 10), classes);
  const variables = model.trainableWeights.map((w) => w.read());
  replica = { tf, model, optimizer, xs, ys, variables, skipUnusedInputGradients,
    size: variables.reduce((n, v) => n + v.size, 0) };
  return { threads: status.threads, backend: tf.getBackend(), params: replica.size };
}

/** Applies `mean` (the averaged gradients of the last step, or null at the start), then this shard's gradients. */
function step({ mean }) {
  const { tf, model, optimizer, xs, ys, variables } = replica;
  if (mean != null) {
    let offset = 0;
    const named = variables.map((v) => {
      const tensor = tf.tensor(mean.subarray(offset, offset + v.size), v.shape);
      offset += v.size;
      return { name: v.name, tensor };
    });
    optimizer.applyGradients(named);
    tf.dispose(named.map((g) => g.tensor));
  }
  const { value, grads } = tf.variableGrads(() => {
    const loss = tf.metrics.categoricalCrossentropy(ys, model.apply(xs, { training: true })).mean();
    replica.skipUnusedInputGradients(tf, variables);
    return loss;
  }, variables);
  const flat = new Float32Array(replica.size);
  let offset = 0;
  for (const v of variables) {
    flat.set(grads[v.name].dataSync(), offset);
    offset += v.size;
  }
  const loss = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads)]);
  return { grads: flat, loss };
}

self.onmessage = async ({ data }) => {
  try {
    const reply = data.op === 'init' ? await init(data) : step(data);
    self.postMessage(reply, reply.grads ? [reply.grads.buffer] : []);
  } catch (err) {
    self.postMessage({ error: String(err?.stack ?? err) });
  }
};
