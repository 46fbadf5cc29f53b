/** The one reduction every task's loss and metrics end with: a mean over the batch that padding rows do not enter. */
import { tf } from '../../tf.js';

/**
 * Weighted mean over the batch of a per-sample [batch] tensor. Rows weighted 0 (padding) add nothing; with no
 * weights every row counts 1. An all-zero weight vector gives 0 rather than NaN.
 */
export function weightedMean(perSample, weights) {
  return tf.tidy(() => {
    if (!weights) return tf.mean(perSample);
    const total = tf.sum(weights);
    return tf.div(tf.sum(tf.mul(perSample, weights)), tf.maximum(total, 1e-12));
  });
}

/** The heads' initializers when the builder gives none: glorot-normal kernels, zero biases (tip 7). */
export function defaultHeadInit() {
  return { kernelInitializer: 'glorotNormal', biasInitializer: 'zeros' };
}
