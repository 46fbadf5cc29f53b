/**
 * Adam's update as one pass over each weight on the wasm backend, instead of ~13 tiny kernels per weight.
 *
 * tfjs's AdamOptimizer.applyGradients runs mul, add, square, div, sqrt... per weight: about half of the ~570 kernel
 * calls of a training step of the reference CNN, each dispatched from JavaScript for a few thousand numbers. On wasm
 * the tensors live in the module's heap, so the same arithmetic can read and write typed arrays directly: new m, v
 * and weight buffers are made and assigned, exactly as the stock update assigns its results. The optimizer keeps its
 * class, slots, names and iteration count, so getWeights/setWeights, snapshots (includeOptimizer) and resume are
 * unchanged; on any other backend the stock update runs. It reads Adam's private fields, so it is applied only on the
 * tfjs release it was written for (tfjs_internals.js); on another one tfjs's own update runs everywhere.
 */
import { tf } from '../tf.js';
import { internalsMatch } from './tfjs_internals.js';

const FUSED = Symbol.for('browsertrain.fusedAdam');

/** Makes `optimizer` (tfjs's Adam; any other optimizer is returned untouched) use the fused update on wasm. */
export function fuseAdamOnWasm(optimizer) {
  // Not `instanceof`: tfjs gives Optimizer a Symbol.hasInstance that any optimizer satisfies.
  if (optimizer?.getClassName?.() !== 'Adam' || optimizer[FUSED]) return optimizer;
  if (!internalsMatch(tf, 'the fused Adam update on wasm', "tfjs's stock Adam update")) return optimizer;
  const stock = optimizer.applyGradients.bind(optimizer);
  optimizer.applyGradients = (variableGradients) => (tf.getBackend() === 'wasm'
    ? fusedApply(optimizer, variableGradients) : stock(variableGradients));
  optimizer[FUSED] = true;
  return optimizer;
}

/** The optimizer's m (or v) slot for weight i, created as the stock update creates it (zeros, not trainable). */
function slot(slots, i, name, suffix, value) {
  slots[i] ??= { originalName: `${name}/${suffix}`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
  return slots[i].variable;
}

function fusedApply(optimizer, variableGradients) {
  const named = Array.isArray(variableGradients)
    ? variableGradients.map((v) => [v.name, v.tensor]) : Object.entries(variableGradients);
  const backend = tf.backend();
  const { beta1, beta2, epsilon } = optimizer;
  const step = -optimizer.learningRate;
  const heap = (tensor) => backend.typedArrayFromHeap(tensor);
  tf.tidy(() => {
    const accBeta1 = heap(optimizer.accBeta1)[0];
    const accBeta2 = heap(optimizer.accBeta2)[0];
    const correction1 = 1 - accBeta1, correction2 = 1 - accBeta2;
    named.forEach(([name, gradient], i) => {
      const value = tf.engine().registeredVariables[name];
      const m = slot(optimizer.accumulatedFirstMoment, i, name, 'm', value);
      const v = slot(optimizer.accumulatedSecondMoment, i, name, 'v', value);
      if (gradient == null) return;
      const outputs = [m, v, value].map((t) => backend.makeOutput(t.shape, 'float32'));
      // Views only after the last allocation: a heap growth detaches the older ones.
      const [g, m0, v0, w0] = [gradient, m, v, value].map(heap);
      const [m1, v1, w1] = outputs.map(heap);
      for (let j = 0; j < g.length; j++) {
        const gj = g[j];
        const mj = beta1 * m0[j] + (1 - beta1) * gj;
        const vj = beta2 * v0[j] + (1 - beta2) * gj * gj;
        m1[j] = mj;
        v1[j] = vj;
        w1[j] = w0[j] + step * ((mj / correction1) / (Math.sqrt(vj / correction2) + epsilon));
      }
      const [newM, newV, newValue] = outputs.map((info) => tf.engine().makeTensorFromTensorInfo(info));
      m.assign(newM);
      v.assign(newV);
      value.assign(newValue);
    });
    optimizer.accBeta1.assign(tf.scalar(accBeta1 * beta1));
    optimizer.accBeta2.assign(tf.scalar(accBeta2 * beta2));
  });
  optimizer.incrementIterations();
}
