/**
 * Skips the input gradient tfjs computes and then throws away: the first convolution's, taken for the image batch.
 *
 * Why it is computed at all (tfjs-core 4.22, ops/fused/conv2d.js and engine.js): tfjs-layers runs a conv whose own
 * activation is linear (our stem: the activation is a layer of its own) through fused.conv2d, which during training
 * is a customGrad op. Its gradFunc builds every input's gradient eagerly — conv2DBackpropInput for x, the filter's and
 * the bias's — before the tape (tape.js, getFilteredNodesXToY) drops x's, which no variable depends on. Plain ops give
 * the tape a thunk per input, and it never calls x's. For the stem that is a strided Conv2DBackpropInput over the
 * whole batch of images, ~a tenth of a wasm step at batch 32.
 *
 * How it is skipped, provably unused: after the forward pass (still inside minimize), the tape is swept as
 * getFilteredNodesXToY sweeps it, from the variables being differentiated. A fusedConv2d node whose x is not reached
 * by that sweep is one whose x gradient the tape prunes; its gradient function is wrapped so that, while it runs, the
 * one Conv2DBackpropInput it asks for answers zeros of x's shape without computing (wasm_conv.js). Only on the tfjs
 * release this was read from (tfjs_internals.js), and only where our wasm kernel is the one registered.
 */
import { internalsMatch } from './tfjs_internals.js';

/** The tape's name for a fused conv2d: customGrad nodes are named after the op's scope. */
const FUSED_CONV_NODE = 'fusedConv2d__op';
/** customGrad numbers its inputs; x is the first. */
const X_INPUT = '0';

/** The x shape whose next Conv2DBackpropInput may answer zeros; set only while a wrapped gradient runs. */
let unusedInputShape = null;

/**
 * True, once, when the Conv2DBackpropInput being asked for (`inputShape`) is the pruned x gradient of the fused conv
 * whose gradient is running: the kernel may then answer zeros. Called by the wasm kernel.
 */
export function takeUnusedInputGradient(inputShape) {
  const shape = unusedInputShape;
  if (shape == null || shape.length !== inputShape.length || shape.some((d, i) => d !== inputShape[i])) return false;
  unusedInputShape = null;
  return true;
}

/** Ids of the tensors that depend on `variables` through the active tape (getFilteredNodesXToY's forward sweep). */
function reachedFrom(tape, variables) {
  const reached = new Set(variables.map((v) => v.id));
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => t != null && reached.has(t.id))) {
      for (const out of node.outputs) reached.add(out.id);
    }
  }
  return reached;
}

/**
 * Call inside minimize's loss function, after the forward pass, with the variables minimize differentiates: marks
 * the fused convs whose input gradient the tape will drop. Returns how many it marked (0 off wasm or when tfjs is not
 * the release this was read from).
 */
export function skipUnusedInputGradients(tf, variables) {
  if (tf.getBackend() !== 'wasm' || !internalsMatch(tf, 'skipping unused input gradients', 'the full gradients')) {
    return 0;
  }
  const tape = tf.engine().state.activeTape;
  if (!Array.isArray(tape)) return 0;
  const reached = reachedFrom(tape, variables);
  let marked = 0;
  for (const node of tape) {
    const x = node.inputs[X_INPUT];
    if (node.kernelName !== FUSED_CONV_NODE || node.gradient == null || x == null || reached.has(x.id)) continue;
    const gradient = node.gradient;
    node.gradient = (dys) => {
      unusedInputShape = x.shape;
      try {
        return gradient(dys);
      } finally {
        unusedInputShape = null;
      }
    };
    marked++;
  }
  return marked;
}
