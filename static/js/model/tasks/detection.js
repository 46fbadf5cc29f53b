/**
 * The detection task, tiny-YOLO-v2 style: a 1×1 conv on the last feature map predicts, per cell and anchor, the
 * box offsets and log sizes, an objectness and class scores. `detection.prepare` learns the anchors from the
 * dataset (k-means) and returns the task that encodes, scores and decodes; the pieces live in their own modules.
 */
import { tf } from '../../tf.js';
import { kmeansAnchors } from './anchors.js';
import { defaultHeadInit } from './batch_mean.js';
import { DEFAULT_NMS_IOU, DEFAULT_SCORE_THRESHOLD, decodeImage } from './yolo_decode.js';
import { DEFAULT_LOSS_SCALES, matchedIou, yoloLoss } from './yolo_loss.js';
import { BOX_FIELDS, MIN_BOX_PIXELS, encodeImage, normaliseBoxes } from './yolo_targets.js';

/** Anchors per cell when the config names none: tiny-YOLO-v2's (and face-api.js's) five. */
export const DEFAULT_NUM_ANCHORS = 5;

/**
 * Appends the head to the symbolic feature MAP `x` ([S, S, F]): a linear 1×1 conv with A·(5+C) filters, so the
 * output is [S, S, A·(5+C)] with S whatever stride the backbone has. Raw values: the sigmoids and the softmax are
 * applied by the loss and by decode.
 */
function head(x, config, weightInit = defaultHeadInit()) {
  const numAnchors = config.numAnchors ?? DEFAULT_NUM_ANCHORS;
  if (!Number.isInteger(config.numClasses) || config.numClasses < 1) {
    throw new Error(`detection needs numClasses >= 1, got ${config.numClasses}`);
  }
  if (!Number.isInteger(numAnchors) || numAnchors < 1) throw new Error(`detection needs numAnchors >= 1, got ${numAnchors}`);
  if (x.shape.length !== 4) throw new Error(`the detection head needs a feature map [batch, S, S, F], got [${x.shape}]`);
  return tf.layers.conv2d({
    filters: numAnchors * (BOX_FIELDS + config.numClasses), kernelSize: 1, name: 'head', ...weightInit,
  }).apply(x);
}

function checkOptions({ inputSize, gridSize, numAnchors }) {
  const problems = [];
  if (!(Number.isInteger(inputSize) && inputSize > 0)) problems.push(`inputSize must be a positive integer`);
  if (!(Number.isInteger(gridSize) && gridSize > 0)) problems.push(`gridSize must be a positive integer (the head's S)`);
  if (!(Number.isInteger(numAnchors) && numAnchors > 0)) problems.push(`numAnchors must be a positive integer`);
  if (problems.length) throw new Error(`detection: ${problems.join('; ')}`);
}

/**
 * The detection task for one dataset and model. `dataset`: {classes, labels} where labels are the items'
 * {width, height, boxes} (only needed to compute anchors). `options`: {inputSize, gridSize (the head's S:
 * model.outputs[0].shape[1]), numAnchors, seed (of the k-means), anchors (given ones, e.g. from a run's metadata:
 * no k-means then), scoreThreshold, iouThreshold, scales, objectTarget ('iou' | 'one')}.
 */
function prepare(dataset, options) {
  const classes = [...(dataset.classes ?? [])];
  if (classes.length === 0) throw new Error('detection needs at least one class');
  const numAnchors = options.anchors?.length ?? options.numAnchors ?? DEFAULT_NUM_ANCHORS;
  checkOptions({ ...options, numAnchors });
  const minBoxSize = MIN_BOX_PIXELS / options.inputSize;
  let anchors = options.anchors?.map((a) => [...a]);
  let anchorFit = null;
  if (!anchors) {
    const sizes = (dataset.labels ?? []).flatMap((l) => normaliseBoxes(l, classes, minBoxSize)).map(({ box }) => [box.w, box.h]);
    ({ anchors, meanIou: anchorFit } = kmeansAnchors(sizes, numAnchors, options.seed ?? 0));
  }
  const geometry = { anchors, gridSize: options.gridSize, numClasses: classes.length };
  const lossOptions = { scales: { ...DEFAULT_LOSS_SCALES, ...options.scales }, objectTarget: options.objectTarget ?? 'iou' };
  const decodeOptions = {
    ...geometry, minBoxSize,
    scoreThreshold: options.scoreThreshold ?? DEFAULT_SCORE_THRESHOLD, iouThreshold: options.iouThreshold ?? DEFAULT_NMS_IOU,
  };
  const perImage = options.gridSize * options.gridSize * numAnchors * (BOX_FIELDS + classes.length);

  return Object.freeze({
    name: 'detection', spatialHead: true, prepare, head, classes, anchors, anchorFit,

    /**
     * Float32 targets [n, S, S, A·(5+C)] (the head's shape) for `labels` ({width, height, boxes} per image). The
     * second argument (the caller's class list) is ignored: the task knows its classes.
     */
    encodeLabels(labels) {
      const out = new Float32Array(labels.length * perImage);
      labels.forEach((label, i) => {
        try {
          encodeImage(normaliseBoxes(label, classes, minBoxSize), geometry, out, i * perImage);
        } catch (err) {
          throw new Error(`image ${i + 1}: ${err.message}`, { cause: err });
        }
      });
      return tf.tensor4d(out, [labels.length, options.gridSize, options.gridSize, perImage / options.gridSize ** 2]);
    },

    /** The true boxes of `labels` as decode returns predictions ([{classIndex, box}] per image), for mAP. */
    truths(labels) {
      return labels.map((label) => normaliseBoxes(label, classes, minBoxSize));
    },

    /** tiny-YOLO-v2 loss summed per image, averaged over the batch weighted by `weights` (see yolo_loss.js). */
    loss(yTrue, yPred, weights) {
      return yoloLoss(yTrue, yPred, weights, anchors, lossOptions);
    },

    /** {iou}: the mean IoU of each true box with its anchor's prediction (a cheap proxy; mAP is for evaluation). */
    metrics(yTrue, yPred, weights) {
      return { iou: matchedIou(yTrue, yPred, weights, anchors) };
    },

    /**
     * One GPU→CPU read; per image [{classIndex, label, score, box: {x, y, w, h}}], normalised, best first.
     * `overrides` ({scoreThreshold}) decodes with another threshold (evaluation traces the whole PR curve).
     */
    async decode(yPred, overrides = null) {
      const values = await yPred.data();
      const used = overrides?.scoreThreshold === undefined ? decodeOptions : { ...decodeOptions, scoreThreshold: overrides.scoreThreshold };
      return Array.from({ length: yPred.shape[0] }, (_, i) => decodeImage(values.subarray(i * perImage, (i + 1) * perImage), used)
        .map((d) => ({ ...d, label: classes[d.classIndex] })));
    },

    /** What an exported model needs beside its weights to be decoded the same way. JSON-safe. */
    metadata() {
      return {
        task: 'detection', classes, anchors, grid_size: options.gridSize, input_size: options.inputSize,
        score_threshold: decodeOptions.scoreThreshold, iou_threshold: decodeOptions.iouThreshold, min_box_pixels: MIN_BOX_PIXELS,
        output: 'per cell and anchor: x, y (sigmoid → offset in the cell), w, h (anchor·exp), objectness (sigmoid), class logits (softmax)',
      };
    },
  });
}

/** The unprepared task: enough to build the head; everything else comes from prepare. */
export const detection = Object.freeze({ name: 'detection', spatialHead: true, head, prepare });
