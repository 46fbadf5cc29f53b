/** The input preview grid (tip 10 of docs/tips.md): each canvas is drawn from the batch tensor the network gets, not from the file. */
import { tf } from '../tf.js';
import { denormalize } from '../data/normalize.js';
import { annotatedCanvas } from './annotations.js';
import { el } from './dom.js';
import { showResultPanel } from './result_panels.js';

/** Per-channel means of [h, w, 3] int32 pixels, for the page's state (tests compare them with the canvas). */
async function channelMeans(pixels) {
  const means = tf.tidy(() => tf.mean(tf.cast(pixels, 'float32'), [0, 1]));
  const values = Array.from(await means.data());
  means.dispose();
  return values;
}

/**
 * The caption of one row and what it draws. Classification reads the label back from ys (the one-hot target the loss
 * sees), so a label mix-up in the pipeline shows here too; detection and landmarks draw the row's labels (shares of
 * the input, after augmentation) over the canvas, and say how many boxes or labelled points it has.
 */
function rowCaption(task, rowLabels, className) {
  if (task === 'detection') {
    const count = rowLabels?.boxes?.length;
    return count === undefined ? 'boxes: –' : `${count} box${count === 1 ? '' : 'es'}`;
  }
  if (task === 'landmarks') {
    const points = rowLabels?.points;
    const count = points?.filter(([, , v = 2]) => v !== 0).length;
    return count === undefined ? 'points: –' : `${count} point${count === 1 ? '' : 's'}`;
  }
  return className;
}

/**
 * Renders preview {xs, ys, labels?, items, classes, pointNames?, config, epoch} into `container` and disposes xs and
 * ys. `labels` (detection, landmarks) holds each row's annotations in shares of the input; `config.task` says which.
 * Returns {epoch, input_size, normalization, items: [{item_id, label, mean, drawn?}]}.
 */
export async function renderPreview(container, { xs, ys, labels, items, classes, pointNames = [], config, epoch }) {
  const task = config.task ?? 'classification';
  const figures = [];
  const shown = [];
  try {
    let targets = [];
    if (task === 'classification') {
      const argMax = tf.argMax(ys, -1);
      targets = Array.from(await argMax.data());
      argMax.dispose();
    }
    const size = xs.shape[1];
    for (let row = 0; row < items.length; row++) {
      const pixels = tf.tidy(() => denormalize(xs.slice([row, 0, 0, 0], [1, -1, -1, -1]).squeeze([0]), config.normalization));
      const canvas = el('canvas', { width: size, height: size, 'data-item-id': items[row].item_id });
      await tf.browser.toPixels(pixels, canvas);
      const mean = await channelMeans(pixels);
      pixels.dispose();
      const label = rowCaption(task, labels?.[row], classes[targets[row]]);
      const picture = task === 'classification' ? canvas : annotatedCanvas(canvas, labels?.[row], task, { names: pointNames });
      figures.push(el('figure', {}, picture, el('figcaption', { text: label })));
      const drawn = picture.querySelector?.('.annotation-layer')?.dataset.truth;
      shown.push({ item_id: items[row].item_id, label, mean, ...(drawn === undefined ? {} : { drawn: Number(drawn) }) });
    }
  } finally {
    tf.dispose([xs, ys]);
  }
  container.replaceChildren(...figures);
  showResultPanel('#preview');
  return { epoch, input_size: config.inputSize, normalization: config.normalization, items: shown };
}
