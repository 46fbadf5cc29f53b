/**
 * A landmarks run's evaluation (docs/tasks.md): the NME, the error of each named point, and the worst images with
 * the true (green) and predicted (red) points joined by a line per point; hover a point for its name.
 */
import { annotatedImage } from './annotations.js';
import { el } from './dom.js';
import { bar, headline, resultsTable, score, worstImages } from './evaluation_parts.js';

function worstFigure(imageSrc, item, names) {
  return el('figure', { 'data-item-id': item.item_id, 'data-nme': item.nme },
    annotatedImage(imageSrc(item.item_id), 'landmarks', { truth: item.truth, predicted: item.predicted },
      { names, alt: `item ${item.item_id}` }),
    el('figcaption', { text: `NME ${score(item.nme)}` }));
}

/** Renders `evaluation` (task 'landmarks') into `container`; `imageSrc(item_id)` gives an item's image URL. */
export function renderLandmarksEvaluation(container, evaluation, imageSrc) {
  const perPoint = evaluation.per_point ?? [];
  const worstPoint = Math.max(0, ...perPoint.map((p) => p.nme ?? 0));
  const rows = perPoint.map((p) => [p.name, bar(p.nme, worstPoint)]);
  container.replaceChildren(
    headline([['NME', score(evaluation.nme), 'nme']],
      `On ${evaluation.count} validation images: the mean distance from each predicted point to the true one, `
      + 'divided by the diagonal of the face or object box (lower is better).'),
    el('div', { class: 'evaluation' }, resultsTable('per-point', ['Point', 'NME'], rows)),
    ...worstImages('worst-images', 'Worst images: true points green, predictions red', evaluation.worst ?? [],
      (item) => worstFigure(imageSrc, item, evaluation.point_names ?? []), 'No validation images.'),
  );
}
