/**
 * The tiny-YOLO-v2 loss and its training metric, from tfjs ops, over the WHOLE batch (face-api.js's trainer only
 * computed it for the first image). Built piece by piece so each piece can be tested by hand (tip 11).
 */
import { tf } from '../../tf.js';
import { weightedMean } from './batch_mean.js';
import { BOX_FIELDS, FIELD } from './yolo_targets.js';

/**
 * The weights of the four terms: darknet's tiny-yolo-voc.cfg (object_scale=5, noobject_scale=1, class_scale=1,
 * coord_scale=1), which face-api.js's trainer used too.
 */
export const DEFAULT_LOSS_SCALES = Object.freeze({ noObject: 1, object: 5, coord: 1, class: 1 });
/** exp(tw) past this would overflow float32 for an untrained head; only the (gradient-free) IoU target sees it. */
const MAX_LOG_SIZE = 10;

/** Identity forward, zero gradient: the IoU an objectness is pulled towards is a target, not something to train. */
const stopGradient = tf.customGrad((x, _save) => ({ value: tf.clone(x), gradFunc: (dy) => tf.zerosLike(dy) }));

/** [batch, S, S, A·(5+C)] → [batch, S, S, A, 5+C]. */
export function splitAnchors(tensor, numAnchors) {
  const [batch, rows, cols, channels] = tensor.shape;
  return tf.reshape(tensor, [batch, rows, cols, numAnchors, channels / numAnchors]);
}

/** The field range [start, start+size) of the last axis. */
const field = (t, start, size = 1) => tf.slice(t, [0, 0, 0, 0, start], [-1, -1, -1, -1, size]);

/**
 * Normalised boxes [batch, S, S, A, 1] ×4 (centre x, centre y, w, h) from cell offsets in [0, 1] and log sizes
 * relative to the anchors: the same decoding for predictions (after the sigmoid) and targets.
 */
function cellBoxes(offsetX, offsetY, logW, logH, anchors, gridSize) {
  const cells = tf.range(0, gridSize, 1, 'float32');
  const cols = tf.reshape(cells, [1, 1, gridSize, 1, 1]);
  const rows = tf.reshape(cells, [1, gridSize, 1, 1, 1]);
  const anchorW = tf.reshape(tf.tensor1d(anchors.map((a) => a[0])), [1, 1, 1, anchors.length, 1]);
  const anchorH = tf.reshape(tf.tensor1d(anchors.map((a) => a[1])), [1, 1, 1, anchors.length, 1]);
  const size = (log, anchor) => tf.mul(anchor, tf.exp(tf.clipByValue(log, -MAX_LOG_SIZE, MAX_LOG_SIZE)));
  return {
    cx: tf.div(tf.add(cols, offsetX), gridSize), cy: tf.div(tf.add(rows, offsetY), gridSize),
    w: size(logW, anchorW), h: size(logH, anchorH),
  };
}

/** Elementwise IoU of two sets of centre-size boxes of the same shape. */
export function boxIou(a, b) {
  const overlap = (ca, sa, cb, sb) => tf.relu(tf.sub(
    tf.minimum(tf.add(ca, tf.div(sa, 2)), tf.add(cb, tf.div(sb, 2))),
    tf.maximum(tf.sub(ca, tf.div(sa, 2)), tf.sub(cb, tf.div(sb, 2)))));
  const intersection = tf.mul(overlap(a.cx, a.w, b.cx, b.w), overlap(a.cy, a.h, b.cy, b.h));
  const union = tf.sub(tf.add(tf.mul(a.w, a.h), tf.mul(b.w, b.h)), intersection);
  return tf.div(intersection, tf.maximum(union, 1e-12));
}

/** The prediction's and the target's pieces, both [batch, S, S, A, ...]. */
function pieces(yTrue, yPred, anchors) {
  const gridSize = yPred.shape[1];
  const pred = splitAnchors(yPred, anchors.length);
  const truth = splitAnchors(yTrue, anchors.length);
  const numClasses = pred.shape[4] - BOX_FIELDS;
  const p = {
    x: tf.sigmoid(field(pred, FIELD.x)), y: tf.sigmoid(field(pred, FIELD.y)),
    w: field(pred, FIELD.w), h: field(pred, FIELD.h),
    confidence: tf.sigmoid(field(pred, FIELD.object)),
    classes: tf.softmax(field(pred, BOX_FIELDS, numClasses)),
  };
  const t = {
    x: field(truth, FIELD.x), y: field(truth, FIELD.y), w: field(truth, FIELD.w), h: field(truth, FIELD.h),
    object: field(truth, FIELD.object), classes: field(truth, BOX_FIELDS, numClasses),
  };
  const overlap = () => boxIou(cellBoxes(p.x, p.y, p.w, p.h, anchors, gridSize), cellBoxes(t.x, t.y, t.w, t.h, anchors, gridSize));
  return { p, t, overlap };
}

/** Sum over everything but the batch axis: [batch, ...] → [batch]. */
const perImage = (t) => tf.sum(t, t.shape.slice(1).map((_, i) => i + 1));

/**
 * The four terms per image, each [batch]:
 *   noObject = Σ (1 − obj)·σ(conf)²                 every anchor of every cell without an object
 *   object   = Σ obj·(σ(conf) − target)²            target = IoU(predicted box, true box) (YOLO v2's rescoring,
 *                                                    no gradient through it) or 1 with objectTarget 'one'
 *   coord    = Σ obj·[(σ(tx) − x)² + (σ(ty) − y)² + (tw − tw*)² + (th − th*)²]
 *   class    = Σ obj·Σc (softmax(class)c − onehot c)²
 * Unscaled; `yoloLoss` weights and adds them.
 */
export function lossTerms(yTrue, yPred, anchors, { objectTarget = 'iou' } = {}) {
  return tf.tidy(() => {
    const { p, t, overlap } = pieces(yTrue, yPred, anchors);
    const noObject = tf.sub(1, t.object);
    const target = objectTarget === 'one' ? tf.onesLike(p.confidence) : stopGradient(overlap());
    const squared = (a, b) => tf.square(tf.sub(a, b));
    const coord = tf.addN([squared(p.x, t.x), squared(p.y, t.y), squared(p.w, t.w), squared(p.h, t.h)]);
    return {
      noObject: perImage(tf.mul(noObject, tf.square(p.confidence))),
      object: perImage(tf.mul(t.object, squared(p.confidence, target))),
      coord: perImage(tf.mul(t.object, coord)),
      class: perImage(tf.mul(t.object, squared(p.classes, t.classes))),
    };
  });
}

/** Σ scale·term per image, then the mean over the batch weighted by `weights` (padding rows add nothing). */
export function yoloLoss(yTrue, yPred, weights, anchors, { scales = DEFAULT_LOSS_SCALES, objectTarget = 'iou' } = {}) {
  return tf.tidy(() => {
    const terms = lossTerms(yTrue, yPred, anchors, { objectTarget });
    const total = tf.addN(Object.keys(DEFAULT_LOSS_SCALES).map((name) => tf.mul(terms[name], scales[name])));
    return weightedMean(total, weights);
  });
}

/**
 * The training metric, cheap enough for every step: the mean IoU between each true box and the box its anchor
 * predicts, per image, then over the images that have a box (weighted like the loss). Scalar tensor.
 */
export function matchedIou(yTrue, yPred, weights, anchors) {
  return tf.tidy(() => {
    const { t, overlap } = pieces(yTrue, yPred, anchors);
    const count = perImage(t.object);
    const perImageIou = tf.div(perImage(tf.mul(t.object, overlap())), tf.maximum(count, 1));
    const hasBoxes = tf.cast(tf.greater(count, 0), 'float32');
    return weightedMean(perImageIou, weights ? tf.mul(weights, hasBoxes) : hasBoxes);
  });
}
