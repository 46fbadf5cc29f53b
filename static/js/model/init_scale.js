/**
 * Data-dependent initial scale (LSUV, Mishkin & Matas 2015): keeps the builder's glorot-normal draws and zero biases,
 * and rescales each convolution so that its output has unit root-mean-square on a batch of the run's own images.
 */
import { tf } from '../tf.js';

/** The kernel whose scale sets a layer's output scale: a conv's kernel, a separable conv's pointwise kernel. */
function scaledKernel(layer) {
  switch (layer.getClassName()) {
    case 'Conv2D': return layer.kernel;
    case 'SeparableConv2D': return layer.pointwiseKernel;
    default: return null;
  }
}

const TARGET_RMS = 1;
const MIN_RMS = 1e-12;

/**
 * Rescales, in place and in order from the input, every Conv2D / SeparableConv2D of `model` so that its output on
 * `xs` has root-mean-square TARGET_RMS. Glorot-normal draws assume a linear network: through ReLUs and the
 * mostly-constant images of small real sets (dark digits, plain backgrounds) the signal shrinks by about 2x per
 * layer, so the head sees features ~1e-3 of the input, the softmax starts uniform and the gradients sit below
 * Adam's epsilon: the loss stays at ln(classes). Returns [{layer, rmsBefore, scale}] for the run's record.
 */
export function scaleToUnitOutput(model, xs) {
  const report = [];
  for (const layer of model.layers) {
    const kernel = scaledKernel(layer);
    // A conv head (detection) keeps its glorot draw: its outputs are raw box offsets and scores, not features.
    if (!kernel || layer.name === 'head') continue;
    const probe = tf.model({ inputs: model.inputs, outputs: layer.output });
    const rms = tf.tidy(() => {
      const out = probe.predict(xs);
      return tf.sqrt(tf.mean(tf.square(out))).dataSync()[0];
    });
    const scale = TARGET_RMS / Math.max(rms, MIN_RMS);
    tf.tidy(() => kernel.write(tf.mul(kernel.read(), scale)));
    report.push({ layer: layer.name, rmsBefore: rms, scale });
  }
  return report;
}
