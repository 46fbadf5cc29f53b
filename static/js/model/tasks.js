/** Tasks: what the network's head outputs, how labels become targets, the loss, the metrics and the decoding. */
// @ts-check
import { tf } from '../tf.js';

// Keras' epsilon: keeps log() finite for a probability that underflowed to 0 without changing any realistic loss.
const LOG_EPSILON = 1e-7;

/**
 * Weighted mean over the batch of a per-sample [batch] tensor. Rows weighted 0 (padding) add nothing; with no
 * weights every row counts 1. An all-zero weight vector gives 0 rather than NaN.
 * @param {any} perSample  a [batch] tensor
 * @param {any} [weights]  a [batch] tensor
 */
export function weightedMean(perSample, weights) {
  return tf.tidy(() => {
    if (!weights) return tf.mean(perSample);
    const total = tf.sum(weights);
    return tf.div(tf.sum(tf.mul(perSample, weights)), tf.maximum(total, 1e-12));
  });
}

/**
 * A task: what the network's head outputs and how it is trained and read. Tensors are typed loosely (tfjs is a UMD
 * global in the pages); every tensor returned is new, and the caller disposes it.
 * @typedef {object} Task
 * @property {string} name  the name run configs use (`config.task`)
 * @property {(x: any, config: { numClasses: number }, weightInit?: WeightInit) => any} head
 *   appends the head to the symbolic feature vector `x` and returns the symbolic output
 * @property {(labels: Array<string | number>, classes: string[]) => any} encodeLabels
 *   the targets ([n, ...] float32) for labels given as class names or indices; an unknown label throws
 * @property {(yTrue: any, yPred: any, weights?: any) => any} loss  a scalar: the weighted mean over rows
 * @property {(yTrue: any, yPred: any, weights?: any) => Record<string, any>} metrics  scalars by name, weighted means
 * @property {(yPred: any, classes?: string[] | null) => Promise<Prediction[]>} decode  one prediction per row
 *
 * @typedef {{ kernelInitializer: string, biasInitializer: string }} WeightInit  tip 7: glorot-normal weights, zero biases
 *
 * @typedef {object} Prediction
 * @property {number} index                 the most probable class
 * @property {string | number} label        classes[index], or the index when no classes are given
 * @property {number} probability           of that class
 * @property {number[]} probabilities       one per class
 */

/** @returns {WeightInit} */
function defaultWeightInit() {
  return { kernelInitializer: 'glorotNormal', biasInitializer: 'zeros' };
}

/**
 * Single-label classification: dense + softmax head, one-hot targets, categorical cross-entropy.
 * The head ends in softmax (not logits) so that an exported model predicts probabilities on its own.
 */
/** @type {Readonly<Task>} */
export const classification = Object.freeze({
  name: 'classification',

  /** Appends the head to the symbolic feature vector `x`; `weightInit` gives the initializers (the builder's). */
  head(x, config, weightInit = defaultWeightInit()) {
    if (!Number.isInteger(config.numClasses) || config.numClasses < 2) {
      throw new Error(`classification needs numClasses >= 2, got ${config.numClasses}`);
    }
    return tf.layers.dense({ units: config.numClasses, activation: 'softmax', name: 'head', ...weightInit }).apply(x);
  },

  /**
   * One-hot float32 [n, classes.length] targets. A label is a class name found in `classes` or an integer index
   * into it; anything else is a user error, reported with the label rather than as a silent all-zero row.
   */
  encodeLabels(labels, classes) {
    /** @type {Map<unknown, number>} (a label may be anything a labels file held) */
    const indexOf = new Map(classes.map((name, index) => [name, index]));
    const indices = labels.map((label) => {
      if (indexOf.has(label)) return indexOf.get(label);
      if (typeof label === 'number' && Number.isInteger(label) && label >= 0 && label < classes.length) return label;
      throw new Error(`unknown label ${JSON.stringify(label)} (classes: ${classes.join(', ')})`);
    });
    return tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(indices, 'int32'), classes.length), 'float32'));
  },

  /** Mean categorical cross-entropy -sum(y log p) over rows, weighted by `weights` ([batch], optional). */
  loss(yTrue, yPred, weights) {
    return tf.tidy(() => {
      const logP = tf.log(tf.clipByValue(yPred, LOG_EPSILON, 1));
      const perSample = tf.neg(tf.sum(tf.mul(yTrue, logP), -1));
      return weightedMean(perSample, weights);
    });
  },

  /** {accuracy}: the weighted share of rows whose most probable class is the true one. Scalar tensors. */
  metrics(yTrue, yPred, weights) {
    return {
      accuracy: tf.tidy(() => {
        const correct = tf.cast(tf.equal(tf.argMax(yTrue, -1), tf.argMax(yPred, -1)), 'float32');
        return weightedMean(correct, weights);
      }),
    };
  },

  /**
   * Reads predictions back (one GPU→CPU transfer): [{index, label, probability, probabilities}] per row, where
   * label is classes[index] when `classes` is given, else the index.
   */
  async decode(yPred, classes = null) {
    const [rows, numClasses] = yPred.shape;
    const values = await yPred.data();
    const predictions = [];
    for (let row = 0; row < rows; row++) {
      const probabilities = Array.from(values.subarray(row * numClasses, (row + 1) * numClasses));
      let index = 0;
      for (let c = 1; c < numClasses; c++) if (probabilities[c] > probabilities[index]) index = c;
      predictions.push({ index, label: classes ? classes[index] : index, probability: probabilities[index], probabilities });
    }
    return predictions;
  },
});

/** @type {Map<string, Readonly<Task>>} */
const TASKS = new Map([[classification.name, classification]]);

/**
 * The task called `name`; regression, landmarks and detection register here when they exist.
 * @param {string} name
 * @returns {Readonly<Task>}
 */
export function getTask(name) {
  const task = TASKS.get(name);
  if (!task) throw new Error(`unknown task '${name}' (known: ${[...TASKS.keys()].join(', ')})`);
  return task;
}
