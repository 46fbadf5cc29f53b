/** Decode → canvas resize → tf.browser.fromPixels (tip 14 of docs/tips.md), and raw pixels → normalised batches. */
import { tf } from '../tf.js';
import { normalize } from './normalize.js';
import { LETTERBOX_PAD_COLOUR, drawRect, resizeTransform } from './geometry.js';

const CHANNELS = 3;

/** A 2D canvas of the model's input size; the resize happens in drawImage, never on tensors. */
export function makeCanvas(size) {
  const canvas = typeof OffscreenCanvas !== 'undefined'
    ? new OffscreenCanvas(size, size)
    : Object.assign(document.createElement('canvas'), { width: size, height: size });
  // willReadFrequently keeps the canvas on the CPU, which makes fromPixels ~5x faster on cpu/wasm.
  return { canvas, ctx: canvas.getContext('2d', { willReadFrequently: true }) };
}

/** The natural size of what drawImage can take: an ImageBitmap, a canvas, an image or a video. */
export function sourceSize(source) {
  return [source.videoWidth || source.naturalWidth || source.width, source.videoHeight || source.naturalHeight || source.height];
}

/**
 * The pipeline's one resize: `source` (an ImageBitmap, a video, a canvas) drawn onto the size×size canvas, stretched
 * or letterboxed (`mode`, see data/geometry.js). Returns the transform, which maps annotations and predictions.
 */
export function drawResized(ctx, source, size, mode = 'stretch') {
  const [width, height] = sourceSize(source);
  const transform = resizeTransform(width, height, size, mode);
  ctx.clearRect(0, 0, size, size);
  if (mode === 'letterbox') {
    ctx.fillStyle = LETTERBOX_PAD_COLOUR;
    ctx.fillRect(0, 0, size, size);
  }
  const { x, y, w, h } = drawRect(transform);
  ctx.drawImage(source, x, y, w, h);
  return transform;
}

/** The resized RGB pixels of `blobs`, decoded one by one, as one Uint8Array of blobs.length*size*size*3 bytes. */
export async function decodeResized(blobs, size, mode = 'stretch', onProgress = null) {
  const { canvas, ctx } = makeCanvas(size);
  const stride = size * size * CHANNELS;
  const out = new Uint8Array(blobs.length * stride);
  for (let i = 0; i < blobs.length; i += 1) {
    const bitmap = await createImageBitmap(blobs[i]);
    drawResized(ctx, bitmap, size, mode);
    bitmap.close();
    const pixels = tf.browser.fromPixels(canvas, CHANNELS);
    out.set(await pixels.data(), i * stride);
    pixels.dispose();
    if (onProgress && (i % 50 === 49 || i === blobs.length - 1)) onProgress(i + 1, blobs.length);
  }
  return out;
}

/**
 * The resized pixels of a few items in one Uint8Array of n*size*size*3 bytes (benchmarks feed batches from it). A
 * run's pixels live in data/pixel_store.js instead, which keeps a large set in IndexedDB rather than in the tab.
 */
export class PixelCache {
  constructor(size, mode = 'stretch') {
    this.size = size;
    this.mode = mode;
    this.stride = size * size * CHANNELS;
    this.pixels = null;
    this.count = 0;
  }

  async fill(blobs, onProgress) {
    this.pixels = await decodeResized(blobs, this.size, this.mode, onProgress);
    this.count = blobs.length;
    return this;
  }

  /** The raw pixels of one item, [size, size, 3] values in 0..255 (for previews and tests). */
  item(index) {
    return this.pixels.subarray(index * this.stride, (index + 1) * this.stride);
  }

  /** A normalised float32 batch [n, size, size, 3] for the given item indices. */
  batch(indices, mode) {
    return pixelBatch(indices.map((index) => this.item(index)), this.size, mode);
  }
}

/** Rows of raw [size, size, 3] pixels (0..255) as one normalised float32 batch [rows, size, size, 3]. */
export function pixelBatch(rows, size, mode) {
  const stride = size * size * CHANNELS;
  const data = new Uint8Array(rows.length * stride);
  rows.forEach((pixels, row) => data.set(pixels, row * stride));
  return tf.tidy(() => normalize(tf.tensor4d(data, [rows.length, size, size, CHANNELS], 'int32'), mode));
}
