/**
 * A detection run's evaluation (docs/tasks.md): mAP at IoU 0.5 and 0.5:0.95, AP per class, the precision-recall
 * curve of each class at IoU 0.5, and the worst images with their true (green) and predicted (red) boxes.
 */
import { annotatedImage } from './annotations.js';
import { lineChart } from './chart.js';
import { el } from './dom.js';
import { headline, resultsTable, score, worstImages } from './evaluation_parts.js';

function prCurves(evaluation) {
  const box = el('figure', { class: 'chart', id: 'pr-curves' });
  const series = Object.fromEntries((evaluation.pr_curves ?? []).map(({ name, recall, precision }) =>
    [name, recall.map((r, i) => [r, precision[i]])]));
  lineChart(box, 'Precision–recall at IoU 0.5', series, { xTitle: 'recall', yTitle: 'precision', xDomain: [0, 1], yDomain: [0, 1] });
  return box;
}

function worstFigure(imageSrc, item) {
  const caption = `${item.misses} missed, ${item.false_positives} false detection${item.false_positives === 1 ? '' : 's'}`;
  return el('figure', { 'data-item-id': item.item_id, 'data-misses': item.misses, 'data-false-positives': item.false_positives },
    annotatedImage(imageSrc(item.item_id), 'detection', { truth: item.truth, predicted: item.predicted }, { alt: `item ${item.item_id}` }),
    el('figcaption', { text: `${caption} (${item.truth.length} true, ${item.predicted.length} predicted)` }));
}

/** Renders `evaluation` (task 'detection') into `container`; `imageSrc(item_id)` gives an item's image URL. */
export function renderDetectionEvaluation(container, evaluation, imageSrc) {
  const rows = (evaluation.per_class ?? []).map((c) => [c.name, score(c.ap50), score(c.ap50_95), String(c.truths)]);
  container.replaceChildren(
    headline([['mAP@0.5', score(evaluation.map50), 'map50'], ['mAP@0.5:0.95', score(evaluation.map), 'map']],
      `On ${evaluation.count} validation images; a prediction counts when its box overlaps a true box of its class `
      + 'by the IoU given (0.5, or each of 0.5, 0.55 … 0.95, averaged).'),
    el('div', { class: 'evaluation' },
      resultsTable('per-class', ['Class', 'AP@0.5', 'AP@0.5:0.95', 'True boxes'], rows), prCurves(evaluation)),
    ...worstImages('worst-images', 'Worst images: true boxes green, predictions red', evaluation.worst ?? [],
      (item) => worstFigure(imageSrc, item), 'Every validation box was found, with no false detections.'),
  );
}
