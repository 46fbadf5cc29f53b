/** Evaluation of a classifier on a set of items: predictions, confusion matrix, per-class accuracy, top mistakes. */
import { tf } from '../tf.js';
import { planBatches } from '../data/batches.js';

// Caps that keep an evaluation inside a run's summary (64 KiB on the server) whatever the validation set's size.
export const TOP_MISTAKES = 12;
export const MAX_CELL_ITEMS = 24;

/** counts[actual][predicted] for class indices in [0, numClasses). */
export function confusionMatrix(actual, predicted, numClasses) {
  if (actual.length !== predicted.length) throw new Error(`${actual.length} labels but ${predicted.length} predictions`);
  const counts = Array.from({ length: numClasses }, () => new Array(numClasses).fill(0));
  actual.forEach((a, i) => {
    const p = predicted[i];
    if (!(a >= 0 && a < numClasses && p >= 0 && p < numClasses)) throw new Error(`class index out of range: ${a} → ${p}`);
    counts[a][p] += 1;
  });
  return counts;
}

/** Per class, the share of its items predicted as it (the diagonal over the row); null for a class with no items. */
export function perClassAccuracy(confusion) {
  return confusion.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total ? row[c] / total : null;
  });
}

/** The `k` wrong predictions the model was surest of: rows [{item_id, label, predicted, probability}], surest first. */
export function topMistakes(rows, k = TOP_MISTAKES) {
  return rows.filter((r) => r.label !== r.predicted).sort((a, b) => b.probability - a.probability).slice(0, k)
    .map(({ item_id, label, predicted, probability }) => ({ item_id, label, predicted, probability }));
}

/**
 * The evaluation stored with a run, from prediction rows [{item_id, label, predicted, probability}] (class names):
 * {count, accuracy, classes, confusion, per_class_accuracy, cells: {"actual|predicted": [item ids]} for the
 * off-diagonal cells (the misclassified items each cell opens, at most MAX_CELL_ITEMS each), top_mistakes}.
 */
export function summarizePredictions(rows, classes) {
  const index = new Map(classes.map((name, i) => [name, i]));
  const confusion = confusionMatrix(rows.map((r) => index.get(r.label)), rows.map((r) => index.get(r.predicted)), classes.length);
  const cells = {};
  for (const row of rows) {
    if (row.label === row.predicted) continue;
    const key = `${row.label}|${row.predicted}`;
    cells[key] ??= [];
    if (cells[key].length < MAX_CELL_ITEMS) cells[key].push(row.item_id);
  }
  const correct = rows.filter((r) => r.label === r.predicted).length;
  return {
    count: rows.length,
    accuracy: rows.length ? correct / rows.length : null,
    classes: [...classes],
    confusion,
    per_class_accuracy: perClassAccuracy(confusion),
    cells,
    top_mistakes: topMistakes(rows),
  };
}

/**
 * Predicts `count` items in fixed-shape batches (the training batch size, so no new shader compiles; padding rows
 * are dropped) with the model in inference mode. `getBatch(indices)` → {xs, ys} as for the Trainer (this function
 * disposes both); `itemAt(i)` → what the row is about; `decodeArg` is the task's decode's second argument.
 * Returns rows [{item, prediction}] (prediction: the task's decode for that row).
 */
export async function predictDecoded({ model, task, getBatch, count, batchSize, itemAt, decodeArg }) {
  const rows = [];
  for (const { indices, realCount } of planBatches(count, batchSize, { mode: 'pad' })) {
    const { xs, ys } = await getBatch(indices);
    const outputs = tf.tidy(() => model.predict(xs));
    tf.dispose([xs, ys]);
    let decoded;
    try {
      decoded = await task.decode(outputs, decodeArg);
    } finally {
      outputs.dispose();
    }
    for (let row = 0; row < realCount; row++) rows.push({ item: itemAt(indices[row]), prediction: decoded[row] });
  }
  return rows;
}

/** A classifier's predictDecoded rows as [{item_id, label, predicted, probability}]. */
export async function predictItems({ classes, ...options }) {
  const rows = await predictDecoded({ ...options, decodeArg: classes });
  return rows.map(({ item: { item_id, label }, prediction }) => ({ item_id, label, predicted: prediction.label, probability: prediction.probability }));
}
