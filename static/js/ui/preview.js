/** The input preview grid (tip 10 of docs/tips.md): each canvas is drawn from the batch tensor the network gets, not from the file. */
import { tf } from '../tf.js';
import { denormalize } from '../data/normalize.js';
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
 * Renders preview {xs, ys, items, classes, config, epoch} into `container` and disposes xs and ys. Each label is
 * read back from ys (the one-hot target the loss sees), so a label mix-up in the pipeline shows here too.
 * Returns {epoch, input_size, normalization, items: [{item_id, label, mean}]}.
 */
export async function renderPreview(container, { xs, ys, items, classes, config, epoch }) {
  const figures = [];
  const shown = [];
  try {
    const argMax = tf.argMax(ys, -1);
    const targets = Array.from(await argMax.data());
    argMax.dispose();
    const size = xs.shape[1];
    for (let row = 0; row < items.length; row++) {
      const pixels = tf.tidy(() => denormalize(xs.slice([row, 0, 0, 0], [1, -1, -1, -1]).squeeze([0]), config.normalization));
      const canvas = el('canvas', { width: size, height: size, 'data-item-id': items[row].item_id });
      await tf.browser.toPixels(pixels, canvas);
      const mean = await channelMeans(pixels);
      pixels.dispose();
      const label = classes[targets[row]];
      figures.push(el('figure', {}, canvas, el('figcaption', { text: label })));
      shown.push({ item_id: items[row].item_id, label, mean });
    }
  } finally {
    tf.dispose([xs, ys]);
  }
  container.replaceChildren(...figures);
  showResultPanel('#preview');
  return { epoch, input_size: config.inputSize, normalization: config.normalization, items: shown };
}
