/**
 * "Try it": one image through a trained model, prepared exactly as training prepared its inputs (canvas resize to
 * the input size, tf.browser.fromPixels, the run's normalisation), answered as the top label names.
 */
import { tf } from '../tf.js';
import { getManifest, latestModelUrl } from '../api.js';
import { drawResized, makeCanvas, pixelBatch } from '../data/images.js';
import { RUN_DEFAULTS } from '../shared_rules.js';

/** How many labels an answer names, at most. */
export const TOP_LABELS = 3;

/**
 * A run's latest snapshot, ready for predictImage: {model, inputSize, normalization, classes}. The class names are
 * those recorded with the run, else its dataset's while the dataset is still the one it trained on.
 */
export async function loadRunModel(run) {
  // Pages load the WebGPU bundle; with no backend chosen yet, the cheap cpu one (nothing here awaits WebGPU).
  if (!tf.engine().backendName) await tf.setBackend('cpu');
  let classes = run.info?.classes ?? null;
  if (!classes) {
    const manifest = await getManifest(run.dataset).catch(() => null);
    if (manifest?.hash === run.dataset_hash) classes = manifest.classes;
  }
  const model = await tf.loadLayersModel(latestModelUrl(run.id));
  return { model, inputSize: run.config.inputSize, normalization: run.config.normalization ?? RUN_DEFAULTS.normalization, classes };
}

/**
 * `source`: a Blob/File (decoded here), or anything drawImage takes (a video frame, a canvas, an ImageBitmap).
 * Returns [{label, probability}] for the TOP_LABELS most probable classes, most probable first.
 */
export async function predictImage(model, source, { inputSize, normalization = 'unit', classes }) {
  const bitmap = source instanceof Blob ? await createImageBitmap(source) : null;
  const { canvas, ctx } = makeCanvas(inputSize);
  try {
    drawResized(ctx, bitmap ?? source, inputSize);
  } finally {
    bitmap?.close();
  }
  const pixels = tf.browser.fromPixels(canvas, 3);
  const raw = await pixels.data();
  pixels.dispose();
  const probabilities = tf.tidy(() => {
    const input = pixelBatch([raw], inputSize, normalization);
    return model.predict(input);
  });
  const values = Array.from(await probabilities.data());
  probabilities.dispose();
  return values.map((probability, index) => ({ label: classes?.[index] ?? `class ${index}`, probability }))
    .sort((a, b) => b.probability - a.probability).slice(0, TOP_LABELS);
}
