/**
 * The quality gate's scores for detection and landmarks exports, from raw model outputs, with the browser's own task
 * code (static/js/model/tasks/*: the decode, the mAP, the landmark targets) so the numbers mean what the run page's
 * mean.
 *
 * Detection: `box_agreement` — does the export find the float32 model's boxes? Per image, each of the float32 model's
 * boxes (best score first) is matched to the export's unmatched box of the same class that overlaps it most; the
 * score is the sum of the matched IoUs over the larger of the two box counts, pooled over the images (1 when both
 * find the same boxes in the same places; a missed, extra or moved box lowers it; 1 when neither finds any box). Also
 * `map50`, the export's mAP@0.5 against the validation split's true boxes.
 * Landmarks: `nme_vs_reference` — how far the export's points are from the float32 model's, as a share of the
 * object's box diagonal (the NME formula with the float32 points as the truth); and `nme` against the true points.
 *
 * Ground truth arrives as the manifest stores it (source pixels, with each image's width and height) and is mapped
 * onto the model input the way the run resized it (static/js/data/geometry.js: stretch or letterbox).
 */
import { tf } from '../../static/js/tf.js';
import { boxToInput, pointToInput, resizeTransform } from '../../static/js/data/geometry.js';
import { resizeModeOf, taskFromMetadata } from '../../static/js/model/task_metadata.js';
import { meanAveragePrecision } from '../../static/js/model/tasks/average_precision.js';
import { iou } from '../../static/js/model/tasks/boxes.js';
import { encodePoints } from '../../static/js/model/tasks/landmarks.js';

/** The transform from an item's source pixels onto the `size`-pixel input, by the run's resize mode. */
function transformOf(item, meta) {
  return resizeTransform(item.width, item.height, meta.input_size, resizeModeOf(meta));
}

/** Each image's decoded boxes ([{classIndex, score, box}], shares of the input) from `count` rows of raw outputs. */
async function decodeBoxes(task, meta, values, count) {
  if (!count) return [];
  const s = meta.grid_size;
  const y = tf.tensor4d(values, [count, s, s, values.length / (count * s * s)]);
  try {
    return await task.decode(y);
  } finally {
    y.dispose();
  }
}

/** The items' true boxes as decode returns predictions ([{classIndex, box}] per image, shares of the input). */
export function trueBoxes(task, meta, items) {
  const size = meta.input_size;
  return items.map((item) => {
    const t = transformOf(item, meta);
    return task.truths([{ width: size, height: size, boxes: (item.boxes ?? []).map((b) => boxToInput(t, b)) }])[0];
  });
}

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

async function detectionScores(meta, items, outputs, reference) {
  const task = taskFromMetadata(meta);
  const truths = trueBoxes(task, meta, items);
  const decoded = {};
  for (const [name, values] of Object.entries(outputs)) decoded[name] = await decodeBoxes(task, meta, values, items.length);
  return Object.fromEntries(Object.entries(decoded).map(([name, boxes]) => [name, {
    map50: meanAveragePrecision(boxes, truths, meta.classes).map50,
    box_agreement: boxAgreement(decoded[reference], boxes),
    boxes: boxes.reduce((n, b) => n + b.length, 0),
  }]));
}

/** The items' true points as landmark targets: per image [[x, y, visible, diagonal] × K], shares of the input. */
export function truePoints(meta, items) {
  const size = meta.input_size;
  const k = meta.point_names.length;
  return items.map((item) => {
    const t = transformOf(item, meta);
    const label = { width: size, height: size, points: item.points.map((p) => pointToInput(t, p)) };
    if (item.box) label.box = boxToInput(t, item.box);
    return encodePoints(label, k);
  });
}

/**
 * Mean over images of the mean point distance over the diagonal, between `values` (rows of x1, y1, x2, y2, ...) and
 * `truth` rows; `against` gives each point's other end ([x, y]) and whether it counts, per image and point.
 */
function meanNme(values, truth, against) {
  let total = 0;
  let images = 0;
  truth.forEach((rows, i) => {
    let sum = 0;
    let counted = 0;
    rows.forEach((row, k) => {
      const [x, y, counts] = against(i, k, row);
      if (!counts) return;
      const at = (i * rows.length + k) * 2;
      sum += Math.hypot(values[at] - x, values[at + 1] - y) / row[3];
      counted += 1;
    });
    if (counted) {
      total += sum / counted;
      images += 1;
    }
  });
  return images ? total / images : null;
}

/** Landmarks: per model, NME against the true points and against the float32 model's points. */
export function landmarkScores(meta, items, outputs, reference) {
  const truth = truePoints(meta, items);
  const base = outputs[reference];
  return Object.fromEntries(Object.entries(outputs).map(([name, values]) => [name, {
    nme: meanNme(values, truth, (_, __, [x, y, visible]) => [x, y, visible]),
    nme_vs_reference: meanNme(values, truth, (i, k) => {
      const at = (i * truth[i].length + k) * 2;
      return [base[at], base[at + 1], true];  // the float32 model places every point
    }),
  }]));
}

/** The task's scores for every model's outputs ({name: Float32Array}, `reference` among them), by model name. */
export async function taskScores(meta, items, outputs, reference) {
  if (meta.task === 'detection') return detectionScores(meta, items, outputs, reference);
  if (meta.task === 'landmarks') return landmarkScores(meta, items, outputs, reference);
  throw new Error(`the gate has no box or point scores for task ${meta.task}`);
}
