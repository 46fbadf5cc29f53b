/**
 * Detection quality the COCO way, on plain arrays: per-class average precision with 101-point interpolation at
 * one IoU threshold, and the mAP@0.5 and mAP@0.5:0.95 summaries with per-class AP.
 */
import { iou } from './boxes.js';

/** COCO's IoU thresholds for mAP@0.5:0.95: 0.50, 0.55, ..., 0.95. */
export const COCO_IOU_THRESHOLDS = Object.freeze(Array.from({ length: 10 }, (_, i) => Math.round((0.5 + 0.05 * i) * 100) / 100));
/** COCO samples the precision/recall curve at recall 0, 0.01, ..., 1. */
export const RECALL_POINTS = 101;

/**
 * The precision/recall curve of one class at one IoU threshold. `predictions` per image: [{score, box}], `truths`
 * per image: [{box}] (this class only). Detections are taken best score first; each matches the unmatched true box
 * of its image it overlaps most, if that IoU is >= iouThreshold, else it is a false positive (COCO's greedy
 * matching). Returns {precision, recall} per rank, precision made non-increasing from the right (the interpolated
 * curve), or null when the class has no true box.
 */
export function precisionRecall(predictions, truths, iouThreshold) {
  const totalTruths = truths.reduce((n, boxes) => n + boxes.length, 0);
  if (totalTruths === 0) return null;
  const ranked = predictions.flatMap((boxes, image) => boxes.map((p, order) => ({ ...p, image, order })))
    .sort((a, b) => b.score - a.score || a.image - b.image || a.order - b.order);
  const matched = truths.map((boxes) => new Array(boxes.length).fill(false));
  const precision = [];
  const recall = [];
  let truePositives = 0;
  ranked.forEach((prediction, rank) => {
    let best = -1;
    let bestIou = iouThreshold;
    truths[prediction.image].forEach((truth, t) => {
      const overlap = iou(prediction.box, truth.box);
      if (!matched[prediction.image][t] && overlap >= bestIou) {
        best = t;
        bestIou = overlap;
      }
    });
    if (best >= 0) {
      matched[prediction.image][best] = true;
      truePositives += 1;
    }
    precision.push(truePositives / (rank + 1));
    recall.push(truePositives / totalTruths);
  });
  for (let i = precision.length - 2; i >= 0; i--) precision[i] = Math.max(precision[i], precision[i + 1]);
  return { precision, recall };
}

/**
 * The interpolated precision at each of the RECALL_POINTS recalls 0, 0.01, ..., 1 (0 past the highest recall
 * reached), from a precisionRecall curve.
 */
export function sampledPrecision({ precision, recall }) {
  const out = [];
  let cursor = 0;
  for (let r = 0; r < RECALL_POINTS; r++) {
    // The recall points as COCO writes them (np.linspace(0, 1, 101)); 1e-9 forgives 0.29 being 0.28999... in floats.
    const target = r / (RECALL_POINTS - 1) - 1e-9;
    while (cursor < recall.length && recall[cursor] < target) cursor += 1;
    out.push(cursor < recall.length ? precision[cursor] : 0);
  }
  return out;
}

/**
 * AP of one class at one IoU threshold (see precisionRecall): the mean of the sampled precision. Returns null when
 * the class has no true box (AP is undefined, not 0).
 */
export function averagePrecision(predictions, truths, iouThreshold) {
  const curve = precisionRecall(predictions, truths, iouThreshold);
  if (!curve) return null;
  return sampledPrecision(curve).reduce((a, b) => a + b, 0) / RECALL_POINTS;
}

const mean = (values) => {
  const defined = values.filter((v) => v !== null);
  return defined.length ? defined.reduce((a, b) => a + b, 0) / defined.length : null;
};

/**
 * mAP over `classes` (names). `predictions` per image: [{classIndex, score, box}] (decoded, after NMS), `truths`
 * per image: [{classIndex, box}]. Returns {map50, map50_95, per_class: [{name, ap50, ap50_95, truths}]}; a class
 * without true boxes has null APs and is left out of the means (null when no class has any).
 */
export function meanAveragePrecision(predictions, truths, classes) {
  if (predictions.length !== truths.length) throw new Error(`${predictions.length} predicted images but ${truths.length} annotated`);
  const perClass = classes.map((name, classIndex) => {
    const ofClass = (boxes) => boxes.filter((b) => b.classIndex === classIndex);
    const classPredictions = predictions.map(ofClass);
    const classTruths = truths.map(ofClass);
    const aps = COCO_IOU_THRESHOLDS.map((t) => averagePrecision(classPredictions, classTruths, t));
    return { name, ap50: aps[0], ap50_95: mean(aps), truths: classTruths.reduce((n, b) => n + b.length, 0) };
  });
  return { map50: mean(perClass.map((c) => c.ap50)), map50_95: mean(perClass.map((c) => c.ap50_95)), per_class: perClass };
}
