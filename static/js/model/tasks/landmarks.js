/**
 * The landmarks task: K named points per image, regressed as (x, y) in [0, 1] of the (resized) input by a dense
 * sigmoid head; MSE or wing loss over the visible points; NME and per-point error as metrics.
 */
import { tf } from '../../tf.js';
import { defaultHeadInit, weightedMean } from './batch_mean.js';
import { objectBox } from '../../data/geometry.js';

export const LANDMARK_LOSSES = Object.freeze(['mse', 'wing']);
/**
 * Wing loss (Feng et al. 2018): w·ln(1 + |d|/ε) for |d| < w, else |d| − C with C = w − w·ln(1 + w/ε), so small and
 * medium errors keep a strong gradient. The paper's w = 10, ε = 2 are in pixels; our coordinates are fractions of
 * the input side, so both are divided by the input size (a 64-px input: w = 10/64, ε = 2/64). That makes the loss
 * exactly the paper's pixel loss divided by the input size.
 */
export const WING_WIDTH_PIXELS = 10;
export const WING_CURVATURE_PIXELS = 2;
/** Values per point in a target: x, y, visible (0/1), and the diagonal NME divides by (repeated per point). */
export const POINT_FIELDS = 4;
/** A box (or points' spread) with a smaller diagonal cannot normalise an error; the image's diagonal √2 does. */
const MIN_DIAGONAL = 1e-6;

function head(x, config, weightInit = defaultHeadInit()) {
  if (!Number.isInteger(config.numPoints) || config.numPoints < 1) {
    throw new Error(`landmarks needs numPoints >= 1, got ${config.numPoints}`);
  }
  return tf.layers.dense({ units: 2 * config.numPoints, activation: 'sigmoid', name: 'head', ...weightInit }).apply(x);
}

/**
 * One image's target rows [[x, y, visible, diagonal] × K] from {width, height, points: [[x, y, v] × K], box?}
 * in source pixels. A point with v = 0 (COCO's "not labelled") adds nothing. The diagonal is the box's when the
 * label has one, else that of the visible points' bounding box.
 */
export function encodePoints(label, numPoints) {
  const { width, height, points, box } = label ?? {};
  if (!(width > 0 && height > 0)) throw new Error(`a landmarks label needs the image's width and height, got ${width}x${height}`);
  if (!Array.isArray(points) || points.length !== numPoints) {
    throw new Error(`expected ${numPoints} points, got ${Array.isArray(points) ? points.length : JSON.stringify(points)}`);
  }
  const rows = points.map(([x, y, v = 1], k) => {
    if (!v) return [0, 0, 0];
    if (!(x >= 0 && x <= width && y >= 0 && y <= height)) {
      throw new Error(`point ${k + 1} (${x}, ${y}) is outside the ${width}x${height} image`);
    }
    return [x / width, y / height, 1];
  });
  const around = box ? { w: box.w / width, h: box.h / height } : objectBox({ points: rows });
  let diagonal = around ? Math.hypot(around.w, around.h) : 0;
  if (!(diagonal >= MIN_DIAGONAL)) diagonal = Math.SQRT2;
  return rows.map((r) => [...r, diagonal]);
}

/** wing(|d|) elementwise, with w and ε already in the coordinates' units. */
export function wing(diff, width, curvature) {
  return tf.tidy(() => {
    const magnitude = tf.abs(diff);
    const constant = width - width * Math.log(1 + width / curvature);
    const small = tf.mul(width, tf.log1p(tf.div(magnitude, curvature)));
    // A step mask rather than tf.where(tf.less(...)): tfjs 4.22 has no gradient for Less, and step's is zero.
    const inside = tf.step(tf.sub(width, magnitude));
    return tf.add(tf.mul(inside, small), tf.mul(tf.sub(1, inside), tf.sub(magnitude, constant)));
  });
}

/** Targets [n, K, 4] and predictions [n, 2K] → {points [n, K, 2], truth [n, K, 2], visible [n, K], diagonal [n, K]}. */
function pieces(yTrue, yPred) {
  const [n, k] = yTrue.shape;
  const part = (start, size) => tf.slice(yTrue, [0, 0, start], [-1, -1, size]);
  return {
    points: tf.reshape(yPred, [n, k, 2]), truth: part(0, 2),
    visible: tf.reshape(part(2, 1), [n, k]), diagonal: tf.reshape(part(3, 1), [n, k]),
  };
}

/** Per point, distance / diagonal: [n, K] (0 where not visible). */
function normalisedErrors(yTrue, yPred) {
  const { points, truth, visible, diagonal } = pieces(yTrue, yPred);
  const distance = tf.sqrt(tf.sum(tf.square(tf.sub(points, truth)), -1));
  return { errors: tf.mul(visible, tf.div(distance, diagonal)), visible };
}

function prepare(dataset, options = {}) {
  const pointNames = [...(dataset.pointNames ?? dataset.point_names ?? [])];
  if (pointNames.length === 0) throw new Error('landmarks needs the names of the points (point_names)');
  const lossName = options.loss ?? 'mse';
  if (!LANDMARK_LOSSES.includes(lossName)) throw new Error(`landmarks loss must be one of ${LANDMARK_LOSSES.join(', ')}, got ${lossName}`);
  if (lossName === 'wing' && !(Number.isInteger(options.inputSize) && options.inputSize > 0)) {
    throw new Error('the wing loss needs the inputSize its constants are scaled by');
  }
  const numPoints = pointNames.length;

  return Object.freeze({
    name: 'landmarks', spatialHead: false, prepare, head, pointNames, lossName,

    /** Float32 targets [n, K, 4] from the images' labels; the caller's second argument is ignored. */
    encodeLabels(labels) {
      const rows = labels.map((label, i) => {
        try {
          return encodePoints(label, numPoints);
        } catch (err) {
          throw new Error(`image ${i + 1}: ${err.message}`, { cause: err });
        }
      });
      return tf.tensor3d(rows.length ? rows : [], [labels.length, numPoints, POINT_FIELDS]);
    },

    /**
     * The mean over the visible coordinates of the batch (rows weighted by `weights`) of (pred − true)² ('mse') or
     * wing(pred − true) ('wing'). Invisible points and padding rows add nothing.
     */
    loss(yTrue, yPred, weights) {
      return tf.tidy(() => {
        const { points, truth, visible } = pieces(yTrue, yPred);
        const diff = tf.sub(points, truth);
        const perCoord = lossName === 'wing'
          ? wing(diff, WING_WIDTH_PIXELS / options.inputSize, WING_CURVATURE_PIXELS / options.inputSize)
          : tf.square(diff);
        const rowWeights = weights ? tf.reshape(weights, [-1, 1]) : tf.onesLike(tf.slice(visible, [0, 0], [-1, 1]));
        const mask = tf.mul(visible, rowWeights);
        const total = tf.sum(tf.mul(tf.sum(perCoord, -1), mask));
        return tf.div(total, tf.maximum(tf.mul(tf.sum(mask), 2), 1e-12));
      });
    },

    /** {nme}: per image the mean visible point distance over the box diagonal, averaged over images with a point. */
    metrics(yTrue, yPred, weights) {
      return {
        nme: tf.tidy(() => {
          const { errors, visible } = normalisedErrors(yTrue, yPred);
          const count = tf.sum(visible, -1);
          const hasPoints = tf.cast(tf.greater(count, 0), 'float32');
          return weightedMean(tf.div(tf.sum(errors, -1), tf.maximum(count, 1)), weights ? tf.mul(weights, hasPoints) : hasPoints);
        }),
      };
    },

    /** Per point (in pointNames order) the mean normalised error over the images where it is visible; null if never. */
    async pointErrors(yTrue, yPred) {
      const { errors, visible } = tf.tidy(() => {
        const e = normalisedErrors(yTrue, yPred);
        return { errors: tf.sum(e.errors, 0), visible: tf.sum(e.visible, 0) };
      });
      const [sums, counts] = await Promise.all([errors.data(), visible.data()]);
      tf.dispose([errors, visible]);
      return pointNames.map((_, k) => (counts[k] ? sums[k] / counts[k] : null));
    },

    /** One GPU→CPU read: per image [{name, x, y}] in normalised input coordinates. */
    async decode(yPred) {
      const values = await yPred.data();
      return Array.from({ length: yPred.shape[0] }, (_, i) => pointNames.map((name, k) => ({
        name, x: values[(i * numPoints + k) * 2], y: values[(i * numPoints + k) * 2 + 1],
      })));
    },

    /** What an exported model needs beside its weights. JSON-safe. */
    metadata() {
      return { task: 'landmarks', point_names: pointNames, loss: lossName, output: 'x1, y1, x2, y2, ... in [0, 1] of the input' };
    },
  });
}

/** The unprepared task: enough to build the head; everything else comes from prepare. */
export const landmarks = Object.freeze({ name: 'landmarks', spatialHead: false, head, prepare });
