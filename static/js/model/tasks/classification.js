/** The classification task: a softmax head, one-hot targets, cross-entropy, accuracy and top-class decoding. */
import { tf } from '../../tf.js';
import { defaultHeadInit, weightedMean } from './batch_mean.js';

// Keras' epsilon: keeps log() finite for a probability that underflowed to 0 without changing any realistic loss.
const LOG_EPSILON = 1e-7;

/**
 * Single-label classification: dense + softmax head, one-hot targets, categorical cross-entropy.
 * The head ends in softmax (not logits) so that an exported model predicts probabilities on its own.
 */
export const classification = Object.freeze({
  name: 'classification',
  /** The head reads the pooled feature vector, not the feature map. */
  spatialHead: false,

  /** Nothing to learn from the dataset: the task is its own prepared form (every task has prepare, see tasks.js). */
  prepare() {
    return classification;
  },

  /** Appends the head to the symbolic feature vector `x`; `weightInit` gives the initializers (the builder's). */
  head(x, config, weightInit = defaultHeadInit()) {
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
