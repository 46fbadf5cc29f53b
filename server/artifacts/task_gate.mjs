/**
 * The quality gate's scores for detection and landmarks exports, from raw model outputs, with the browser's own
 * evaluation code (static/js/model/evaluate_tasks.js, the run's decode), so the float32 model's mAP@0.5 or NME here
 * is the number on its run page.
 *
 * Detection: `box_agreement` — does the export find the float32 model's boxes? Per image, each of the float32 model's
 * boxes over the run's score threshold (best first) is matched to the export's unmatched box of the same class that
 * overlaps it most; the score is the sum of the matched IoUs over the larger of the two box counts, pooled over the
 * images (1 when both find the same boxes in the same places; a missed, extra or moved box lowers it; 1 when neither
 * finds any box). Also `map50`, the export's mAP@0.5 against the validation split's true boxes, and `boxes`.
 * Landmarks: `nme_vs_reference` — how far the export's points are from the float32 model's, by the NME formula
 * with the float32 points as the truth (over the true box's diagonal); and `nme` against the true points.
 *
 * `items` are the validation images' annotations as the manifest stores them ({width, height, boxes | points, box},
 * source pixels); `meta` is the run's task_metadata (its input_size and resize place them on the input).
 */
import { tf } from '../../static/js/tf.js';
import { annotationsToSource, objectBox, resizeTransform } from '../../static/js/data/geometry.js';
import { EVAL_SCORE_THRESHOLD, detectionEvaluation, landmarksEvaluation } from '../../static/js/model/evaluate_tasks.js';
import { iou } from '../../static/js/model/tasks/boxes.js';
import { resizeModeOf, taskFromMetadata } from '../../static/js/model/task_metadata.js';

/** The run config keys the evaluation reads, from the metadata. */
const configOf = (meta) => ({ inputSize: meta.input_size, resize: resizeModeOf(meta) });

/** Each image's decoded predictions from `count` rows of raw outputs, through the task's own decode. */
async function decodeRows(task, meta, values, count, overrides = null) {
  if (!count) return [];
  const shape = meta.task === 'detection'
    ? [count, meta.grid_size, meta.grid_size, values.length / (count * meta.grid_size ** 2)]
    : [count, values.length / count];
  const y = tf.tensor(values, shape);
  try {
    return await task.decode(y, overrides);
  } finally {
    y.dispose();
  }
}

const rowsOf = (items, predictions) => items.map((annotation, i) => ({ item: { item_id: i, annotation }, prediction: predictions[i] }));

/**
 * How well `candidate`'s boxes reproduce `reference`'s (both per image: [{classIndex, score, box}]): the pooled
 * sum of matched IoUs over the larger box count per image, in [0, 1]; 1 when neither has a box.
 */
export function boxAgreement(reference, candidate) {
  let matched = 0;
  let slots = 0;
  reference.forEach((refBoxes, image) => {
    const free = [...candidate[image]];
    slots += Math.max(refBoxes.length, free.length);
    for (const ref of [...refBoxes].sort((a, b) => b.score - a.score)) {
      let best = -1;
      let bestIou = 0;
      free.forEach((c, i) => {
        const overlap = c.classIndex === ref.classIndex ? iou(ref.box, c.box) : 0;
        if (overlap > bestIou) { best = i; bestIou = overlap; }
      });
      if (best >= 0) {
        matched += bestIou;
        free.splice(best, 1);
      }
    }
  });
  return slots ? matched / slots : 1;
}

export async function detectionScores(meta, items, outputs, reference) {
  const task = taskFromMetadata(meta);
  const config = configOf(meta);
  // One decode at the evaluation's low threshold traces the mAP curve; the boxes users see are those over the run's.
  const decoded = {};
  for (const [name, values] of Object.entries(outputs)) {
    decoded[name] = await decodeRows(task, meta, values, items.length, { scoreThreshold: EVAL_SCORE_THRESHOLD });
  }
  const shown = (perImage) => perImage.map((boxes) => boxes.filter((b) => b.score >= meta.score_threshold));
  return Object.fromEntries(Object.entries(decoded).map(([name, predictions]) => [name, {
    map50: detectionEvaluation(rowsOf(items, predictions), task, config).map50,
    box_agreement: boxAgreement(shown(decoded[reference]), shown(predictions)),
    boxes: shown(predictions).reduce((n, b) => n + b.length, 0),
  }]));
}

export async function landmarkScores(meta, items, outputs, reference) {
  const task = taskFromMetadata(meta);
  const config = configOf(meta);
  const decoded = {};
  for (const [name, values] of Object.entries(outputs)) decoded[name] = await decodeRows(task, meta, values, items.length);
  // The float32 model's points as a truth: in source pixels, every one visible, over the true object's box.
  const asTruth = items.map((annotation, i) => {
    const t = resizeTransform(annotation.width, annotation.height, meta.input_size, config.resize);
    const points = annotationsToSource(t, { points: decoded[reference][i].map((p) => [p.x, p.y]) }).points;
    return { width: annotation.width, height: annotation.height, points: points.map(([x, y]) => [x, y, 2]), box: objectBox(annotation) ?? undefined };
  });
  return Object.fromEntries(Object.entries(decoded).map(([name, predictions]) => [name, {
    nme: landmarksEvaluation(rowsOf(items, predictions), task, config).nme,
    nme_vs_reference: landmarksEvaluation(rowsOf(asTruth, predictions), task, config).nme,
  }]));
}

/** The task's scores for every model's outputs ({name: Float32Array}, `reference` among them), by model name. */
export async function taskScores(meta, items, outputs, reference) {
  if (meta.task === 'detection') return detectionScores(meta, items, outputs, reference);
  if (meta.task === 'landmarks') return landmarkScores(meta, items, outputs, reference);
  throw new Error(`the gate has no box or point scores for task ${meta.task}`);
}
