/**
 * "Try it": one image through a trained model, prepared exactly as training prepared its inputs (canvas resize to
 * the input size, stretched or letterboxed, tf.browser.fromPixels, the run's normalisation), answered as the top
 * label names, the detected boxes or the named points (those two in the source image's pixels).
 */
import { tf } from '../tf.js';
import { getManifest, latestModelUrl } from '../api.js';
import { annotationsToSource } from '../data/geometry.js';
import { drawResized, makeCanvas, pixelBatch } from '../data/images.js';
import { RUN_DEFAULTS } from '../shared_rules.js';
import { DECODED_TASKS, resizeModeOf, taskFromMetadata } from './task_metadata.js';

/** How many labels an answer names, at most. */
export const TOP_LABELS = 3;

/**
 * A run's latest snapshot, ready for predictImage: {model, inputSize, normalization, classes, task, resize}. The
 * class names are those recorded with the run, else its dataset's while the dataset is still the one it trained on.
 * A detection or landmarks run brings its task rebuilt from `run.info.task_metadata` (null for a classifier).
 */
export async function loadRunModel(run) {
  // Pages load the WebGPU bundle; with no backend chosen yet, the cheap cpu one (nothing here awaits WebGPU).
  if (!tf.engine().backendName) await tf.setBackend('cpu');
  const name = run.config.task ?? RUN_DEFAULTS.task;
  const meta = run.info?.task_metadata ?? null;
  if (DECODED_TASKS.includes(name) && meta?.task !== name) {
    throw new Error(`this ${name} run recorded no task_metadata, so its outputs cannot be decoded`);
  }
  const task = DECODED_TASKS.includes(name) ? taskFromMetadata(meta) : null;
  let classes = run.info?.classes ?? meta?.classes ?? null;
  if (!classes && !task) {
    const manifest = await getManifest(run.dataset).catch(() => null);
    if (manifest?.hash === run.dataset_hash) classes = manifest.classes;
  }
  const model = await tf.loadLayersModel(latestModelUrl(run.id));
  return {
    model, inputSize: run.config.inputSize, normalization: run.config.normalization ?? RUN_DEFAULTS.normalization,
    classes, task, resize: resizeModeOf(meta),
  };
}

const clamp = (v, high) => Math.min(Math.max(v, 0), high);

/** A detection's box in source pixels, kept inside the image (letterbox bars are not part of it). */
function clippedBox({ x, y, w, h }, width, height) {
  const x0 = clamp(x, width);
  const y0 = clamp(y, height);
  return { x: x0, y: y0, w: clamp(x + w, width) - x0, h: clamp(y + h, height) - y0 };
}

/**
 * The decoded answer for one image of `width`×`height` pixels from the model's output `y` ([1, ...]):
 * {boxes: [{label, score, x, y, w, h}]} (best first) or {points: [{name, x, y}]}, in source pixels.
 */
async function decodeAnswer(task, y, transform) {
  const [width, height] = transform.source;
  const [decoded] = await task.decode(y);
  if (task.name === 'detection') {
    const { boxes } = annotationsToSource(transform, { boxes: decoded.map((d) => d.box) });
    return {
      width, height,
      boxes: decoded.map((d, i) => ({ label: d.label, score: d.score, ...clippedBox(boxes[i], width, height) })),
    };
  }
  const { points } = annotationsToSource(transform, { points: decoded.map((p) => [p.x, p.y]) });
  return { width, height, points: decoded.map((p, i) => ({ name: p.name, x: points[i][0], y: points[i][1] })) };
}

/**
 * `source`: a Blob/File (decoded here), or anything drawImage takes (a video frame, a canvas, an ImageBitmap).
 * Returns {top: [{label, probability}]} (the TOP_LABELS most probable classes, most probable first) for a
 * classifier, else the decoded boxes or points (decodeAnswer).
 */
export async function predictImage(model, source, { inputSize, normalization = 'unit', classes, task = null, resize = 'stretch' }) {
  const bitmap = source instanceof Blob ? await createImageBitmap(source) : null;
  const { canvas, ctx } = makeCanvas(inputSize);
  let transform;
  try {
    transform = drawResized(ctx, bitmap ?? source, inputSize, resize);  // the training pipeline's own resize
  } finally {
    bitmap?.close();
  }
  const pixels = tf.browser.fromPixels(canvas, 3);
  const raw = await pixels.data();
  pixels.dispose();
  const output = tf.tidy(() => model.predict(pixelBatch([raw], inputSize, normalization)));
  try {
    if (task) return await decodeAnswer(task, output, transform);
    const values = Array.from(await output.data());
    const top = values.map((probability, index) => ({ label: classes?.[index] ?? `class ${index}`, probability }))
      .sort((a, b) => b.probability - a.probability).slice(0, TOP_LABELS);
    return { top };
  } finally {
    output.dispose();
  }
}
