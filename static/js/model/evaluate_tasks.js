/**
 * Evaluation of detection and landmarks runs on their validation items (docs/tasks.md has the stored shapes):
 * mAP with per-class AP and precision-recall curves, per-point error, and the worst images with true and
 * predicted boxes or points in shares of the source image, for the run page to draw.
 */
import { annotationToInput } from '../data/annotations.js';
import { annotationsToSource, objectBox, resizeTransform } from '../data/geometry.js';
import { iou } from './tasks/boxes.js';
import { meanAveragePrecision, precisionRecall, sampledPrecision } from './tasks/average_precision.js';

/** Worst images kept in an evaluation (the summary must stay small whatever the validation set's size). */
export const WORST_IMAGES = 12;
/** Precision-recall curves kept: the classes with the most true boxes. */
export const MAX_CURVES = 10;
/** Detections kept for mAP: low, so the whole precision-recall curve is traced (COCO keeps down to ~0.001). */
export const EVAL_SCORE_THRESHOLD = 0.01;
/** IoU at which a detection counts as finding a box, for the worst images and the curves. */
const MATCH_IOU = 0.5;
const round = (value) => Math.round(value * 1e4) / 1e4;

/** Input shares → shares of the source image, for a box {x, y, w, h} or a point [x, y]. */
function toSourceShares(annotation, config) {
  const t = resizeTransform(annotation.width, annotation.height, config.inputSize, config.resize ?? 'stretch');
  const [width, height] = [annotation.width, annotation.height];
  return {
    box: (box) => {
      const [b] = annotationsToSource(t, { boxes: [box] }).boxes;
      return { x: round(b.x / width), y: round(b.y / height), w: round(b.w / width), h: round(b.h / height) };
    },
    point: (point) => {
      const [p] = annotationsToSource(t, { points: [point] }).points;
      return [round(p[0] / width), round(p[1] / height)];
    },
  };
}

/** Greedy matching at MATCH_IOU of one image's detections (best first) to its true boxes: {misses, falsePositives}. */
function imageErrors(predicted, truths) {
  const used = new Array(truths.length).fill(false);
  let falsePositives = 0;
  for (const p of predicted) {
    const t = truths.findIndex((truth, i) => !used[i] && truth.classIndex === p.classIndex && iou(p.box, truth.box) >= MATCH_IOU);
    if (t >= 0) used[t] = true;
    else falsePositives += 1;
  }
  return { misses: used.filter((u) => !u).length, falsePositives };
}

/**
 * rows: [{item: {item_id, annotation}, prediction}] with predictions decoded at EVAL_SCORE_THRESHOLD. `task` is the
 * prepared detection task (its classes, truths, and the threshold users see, metadata().score_threshold).
 */
export function detectionEvaluation(rows, task, config) {
  const inputs = rows.map((r) => annotationToInput(r.item.annotation, config.inputSize, config.resize));
  const truths = task.truths(inputs);
  const predictions = rows.map((r) => r.prediction);
  const { map50, map50_95, per_class } = meanAveragePrecision(predictions, truths, task.classes);
  const curves = task.classes.map((name, c) => {
    const ofClass = (boxes) => boxes.filter((b) => b.classIndex === c);
    const curve = precisionRecall(predictions.map(ofClass), truths.map(ofClass), MATCH_IOU);
    if (!curve) return null;
    const precision = sampledPrecision(curve);
    return { name, truths: per_class[c].truths, recall: precision.map((_, i) => i / (precision.length - 1)), precision: precision.map(round) };
  }).filter(Boolean).sort((a, b) => b.truths - a.truths).slice(0, MAX_CURVES).map(({ truths: _, ...curve }) => curve);
  const shown = task.metadata().score_threshold;
  const worst = rows.map((r, i) => {
    const kept = r.prediction.filter((p) => p.score >= shown);
    const { misses, falsePositives } = imageErrors(kept, truths[i]);
    const to = toSourceShares(r.item.annotation, config);
    return {
      item_id: r.item.item_id, misses, false_positives: falsePositives,
      truth: truths[i].map((t) => ({ label: task.classes[t.classIndex], ...to.box(t.box) })),
      predicted: kept.map((p) => ({ label: p.label, score: round(p.score), ...to.box(p.box) })),
    };
  }).filter((w) => w.misses + w.false_positives > 0)
    .sort((a, b) => b.misses + b.false_positives - (a.misses + a.false_positives)).slice(0, WORST_IMAGES);
  return { task: 'detection', count: rows.length, classes: [...task.classes], map50, map: map50_95, per_class, pr_curves: curves, worst };
}

/**
 * One image's normalised point errors in source pixels: per point distance / the diagonal of the item's box (else
 * of its visible points' bounding box); null for a point not labelled.
 */
function pointErrors(annotation, predicted) {
  const around = objectBox(annotation);
  let diagonal = around ? Math.hypot(around.w, around.h) : 0;
  if (!(diagonal > 0)) diagonal = Math.hypot(annotation.width, annotation.height);
  return annotation.points.map(([x, y, v = 1], k) => (v === 0 ? null
    : Math.hypot(predicted[k][0] - x, predicted[k][1] - y) / diagonal));
}

const meanOf = (values) => {
  const known = values.filter((v) => v !== null);
  return known.length ? known.reduce((a, b) => a + b, 0) / known.length : null;
};

/** rows: [{item: {item_id, annotation}, prediction: [{name, x, y}] in input shares}]. */
export function landmarksEvaluation(rows, task, config) {
  const names = task.pointNames;
  const perImage = rows.map((r) => {
    const { annotation } = r.item;
    const t = resizeTransform(annotation.width, annotation.height, config.inputSize, config.resize ?? 'stretch');
    const inShares = r.prediction.map((p) => [p.x, p.y]);
    const predicted = annotationsToSource(t, { points: inShares }).points;
    const errors = pointErrors(annotation, predicted);
    return { r, predicted, errors, nme: meanOf(errors) };
  });
  const per_point = names.map((name, k) => ({ name, nme: meanOf(perImage.map((p) => p.errors[k])) }));
  const worst = perImage.filter((p) => p.nme !== null).sort((a, b) => b.nme - a.nme).slice(0, WORST_IMAGES)
    .map(({ r, predicted, nme }) => {
      const { width, height, points } = r.item.annotation;
      return {
        item_id: r.item.item_id, nme: round(nme),
        truth: points.map(([x, y, v = 1]) => [round(x / width), round(y / height), v]),
        predicted: predicted.map(([x, y]) => [round(x / width), round(y / height)]),
      };
    });
  return { task: 'landmarks', count: rows.length, nme: meanOf(perImage.map((p) => p.nme)), point_names: [...names], per_point, worst };
}
