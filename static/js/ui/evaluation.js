/** Evaluation views: per-class accuracy, a confusion matrix whose cells open their images, mistakes, predictions. */
import { el, fixed } from './dom.js';
import { renderDetectionEvaluation } from './evaluation_detection.js';
import { renderLandmarksEvaluation } from './evaluation_landmarks.js';
import { showResultPanel } from './result_panels.js';

const percent = (x) => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(1)}%`);

/**
 * One image of the dataset with a caption; `wrong` marks a misprediction. `imageSrc(item_id)` gives its URL: the
 * server's item on the run page, the browser's own cached copy on the train page (which works offline).
 */
function itemFigure(imageSrc, { item_id, label, predicted, probability }) {
  const wrong = predicted !== undefined && predicted !== label;
  let caption = predicted === undefined ? label : `${label} → ${predicted}`;
  if (predicted !== undefined && probability !== undefined) caption += ` (${fixed(probability, 2)})`;
  return el('figure', { 'data-item-id': item_id, class: wrong ? 'wrong' : 'right' },
    el('img', { src: imageSrc(item_id), alt: `item ${item_id}`, loading: 'lazy' }),
    el('figcaption', { text: caption, class: wrong ? 'error' : 'ok' }));
}

function confusionTable(evaluation, onCell) {
  const { classes, confusion } = evaluation;
  const head = el('tr', {}, el('th', { text: 'actual ↓ / predicted →' }), ...classes.map((c) => el('th', { text: c })));
  const rows = confusion.map((row, a) => el('tr', {}, el('th', { text: classes[a] }), ...row.map((count, p) => {
    const key = `${classes[a]}|${classes[p]}`;
    if (a === p || count === 0) return el('td', { class: a === p ? 'diagonal' : '', text: String(count) });
    return el('td', {}, el('button', { type: 'button', class: 'link cell', 'data-cell': key, text: String(count),
      title: `open the ${classes[a]} images predicted as ${classes[p]}`, onclick: () => onCell(key) }));
  })));
  return el('div', { class: 'table-scroll' }, el('table', { class: 'list confusion' }, el('thead', {}, head), el('tbody', {}, ...rows)));
}

/** Each task's view of its evaluation (docs/tasks.md); classification's is below. */
const TASK_VIEWS = { detection: renderDetectionEvaluation, landmarks: renderLandmarksEvaluation };

/**
 * Renders a run's evaluation (summary.evaluation) into `container`, by its task; `imageSrc(item_id)` gives the URL
 * of an item's image.
 */
export function renderEvaluation(container, evaluation, imageSrc) {
  showResultPanel('#outcome');
  (TASK_VIEWS[evaluation.task] ?? renderClassification)(container, evaluation, imageSrc);
}

/**
 * Classification: accuracy per class, the confusion matrix (a click on an off-diagonal cell lists its misclassified
 * images) and the most confident mistakes.
 */
function renderClassification(container, evaluation, imageSrc) {
  const mistakesByKey = new Map(evaluation.top_mistakes.map((m) => [m.item_id, m]));
  const cellView = el('div', { class: 'grid', id: 'cell-items' });
  const cellTitle = el('p', { class: 'hint', id: 'cell-title' });
  const openCell = (key) => {
    const [label, predicted] = key.split('|');
    const ids = evaluation.cells[key] ?? [];
    cellTitle.textContent = `${ids.length} ${label} image(s) predicted as ${predicted}`;
    cellView.replaceChildren(...ids.map((id) => itemFigure(imageSrc, mistakesByKey.get(id) ?? { item_id: id, label, predicted })));
  };
  const perClass = el('table', { class: 'list per-class' },
    el('thead', {}, el('tr', {}, el('th', { text: 'Class' }), el('th', { text: 'Accuracy' }), el('th', { text: 'Items' }))),
    el('tbody', {}, ...evaluation.classes.map((name, c) => el('tr', {}, el('td', { text: name }),
      el('td', { text: percent(evaluation.per_class_accuracy[c]) }),
      el('td', { text: String(evaluation.confusion[c].reduce((x, y) => x + y, 0)) })))));
  container.replaceChildren(
    el('p', { text: `Validation accuracy ${percent(evaluation.accuracy)} on ${evaluation.count} images.` }),
    el('div', { class: 'evaluation' }, el('div', { class: 'table-scroll' }, perClass), confusionTable(evaluation, openCell)),
    cellTitle, cellView,
    el('h3', { text: 'Most confident mistakes' }),
    evaluation.top_mistakes.length
      ? el('div', { class: 'grid', id: 'top-mistakes' }, ...evaluation.top_mistakes.map((m) => itemFigure(imageSrc, m)))
      : el('p', { class: 'hint', text: 'No mistakes on the validation split.' }),
  );
}

/** A sanity run's verdict and its predictions on the images it trained on. */
export function renderOverfit(container, overfit, imageSrc) {
  showResultPanel('#outcome');
  container.replaceChildren(
    el('p', { id: 'overfit-verdict', class: overfit.converged ? 'ok' : 'error', text: overfit.message }),
    el('div', { class: 'grid', id: 'overfit-predictions' }, ...overfit.predictions.map((p) => itemFigure(imageSrc, p))),
  );
}
