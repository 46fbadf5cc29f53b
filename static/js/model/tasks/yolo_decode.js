/** The detection head's raw output → boxes: scores, a score threshold, a minimum size and per-class NMS. */
import { nonMaxSuppression } from './boxes.js';
import { BOX_FIELDS, FIELD } from './yolo_targets.js';

/** A detection is kept when σ(objectness)·P(class) reaches this. */
export const DEFAULT_SCORE_THRESHOLD = 0.3;
/** Two detections of one class overlapping more than this are one object: the lower-scored one goes. */
export const DEFAULT_NMS_IOU = 0.45;
/** Detections kept per image at most (COCO evaluates the best 100). */
export const MAX_DETECTIONS = 100;

const sigmoid = (v) => 1 / (1 + Math.exp(-v));

function softmax(values) {
  const top = Math.max(...values);
  const exps = values.map((v) => Math.exp(v - top));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

/**
 * One image's detections from `values` (its [S, S, A·(5+C)] slice, as read from the tensor): for every cell,
 * anchor and class with score σ(conf)·softmax(class) >= scoreThreshold, a box {x, y, w, h} in normalised input
 * coordinates (top-left corner), clipped to the image, dropped when a side is under minBoxSize; then per-class
 * NMS and the best MAX_DETECTIONS. Returns [{classIndex, score, box}], best first.
 */
export function decodeImage(values, { gridSize, anchors, numClasses, scoreThreshold, iouThreshold, minBoxSize }) {
  const stride = BOX_FIELDS + numClasses;
  const byClass = Array.from({ length: numClasses }, () => []);
  for (let row = 0; row < gridSize; row++) {
    for (let col = 0; col < gridSize; col++) {
      for (let a = 0; a < anchors.length; a++) {
        const base = ((row * gridSize + col) * anchors.length + a) * stride;
        const confidence = sigmoid(values[base + FIELD.object]);
        if (confidence < scoreThreshold) continue;  // no class can reach the threshold
        const cx = (col + sigmoid(values[base + FIELD.x])) / gridSize;
        const cy = (row + sigmoid(values[base + FIELD.y])) / gridSize;
        const w = anchors[a][0] * Math.exp(values[base + FIELD.w]);
        const h = anchors[a][1] * Math.exp(values[base + FIELD.h]);
        const x0 = Math.max(0, cx - w / 2);
        const y0 = Math.max(0, cy - h / 2);
        const box = { x: x0, y: y0, w: Math.min(1, cx + w / 2) - x0, h: Math.min(1, cy + h / 2) - y0 };
        if (!(box.w >= minBoxSize && box.h >= minBoxSize)) continue;
        const probabilities = softmax(Array.from(values.subarray(base + BOX_FIELDS, base + stride)));
        probabilities.forEach((p, classIndex) => {
          const score = confidence * p;
          if (score >= scoreThreshold) byClass[classIndex].push({ classIndex, score, box });
        });
      }
    }
  }
  return byClass.flatMap((detections) => nonMaxSuppression(detections, iouThreshold))
    .sort((p, q) => q.score - p.score).slice(0, MAX_DETECTIONS);
}
