/** Training-time augmentation on the canvas path: a random crop, a horizontal flip and a brightness change per epoch. */
import { createRandom, deriveSeed } from './random.js';
import { drawResized, makeCanvas } from './images.js';

export const DEFAULT_AUGMENT = Object.freeze({ crop: false, flip: false, brightness: 0 });
/** The smallest crop, as a share of the image side: a crop keeps 80–100% of each side. */
export const AUGMENT_MIN_CROP = 0.8;
/** The largest brightness change: pixels are scaled by a factor in [1 − b, 1 + b]. */
export const MAX_BRIGHTNESS = 0.5;
/**
 * Decoded crop sources kept in memory; past this the sources are read and decoded again from their blobs for every crop
 * (slower, but a large dataset at a large input size must not exhaust the tab).
 */
export const MAX_CROP_SOURCE_BYTES = 256 * 1024 ** 2;
const CHANNELS = 3;

/** Augmentation options over the defaults, checked. */
export function resolveAugment(options = {}) {
  const resolved = { ...DEFAULT_AUGMENT, ...(options ?? {}) };
  resolved.crop = Boolean(resolved.crop);
  resolved.flip = Boolean(resolved.flip);
  resolved.brightness = Number(resolved.brightness);
  if (!(resolved.brightness >= 0 && resolved.brightness <= MAX_BRIGHTNESS)) {
    throw new Error(`augment.brightness must be between 0 and ${MAX_BRIGHTNESS}`);
  }
  return resolved;
}

export const isAugmenting = (options) => Boolean(options && (options.crop || options.flip || options.brightness > 0));

/**
 * The augmentation of one item in one epoch, reproducible from (seed, epoch, item): {crop: {x, y, side} as shares
 * of the source side, or null; flip; brightness factor}. Every draw happens whatever the options, so turning one
 * option on does not change what the others do.
 */
export function augmentParams(options, seed, epoch, item) {
  const random = createRandom(deriveSeed(seed, 'augment', epoch, item));
  const side = AUGMENT_MIN_CROP + random() * (1 - AUGMENT_MIN_CROP);
  const x = random() * (1 - side);
  const y = random() * (1 - side);
  const flip = random() < 0.5;
  const brightness = 1 + (2 * random() - 1) * options.brightness;
  return { crop: options.crop ? { x, y, side } : null, flip: options.flip && flip, brightness: options.brightness > 0 ? brightness : 1 };
}

/** A left–right mirror of [size, size, 3] pixels, as a new array. */
export function flipHorizontal(pixels, size) {
  const out = new Uint8Array(pixels.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const from = (y * size + x) * CHANNELS;
      const to = (y * size + (size - 1 - x)) * CHANNELS;
      for (let c = 0; c < CHANNELS; c++) out[to + c] = pixels[from + c];
    }
  }
  return out;
}

/** Pixels scaled by `factor`, rounded and clipped to 0..255, as a new array. */
export function scaleBrightness(pixels, factor) {
  const out = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(pixels[i] * factor)));
  return out;
}

/**
 * Crops on a canvas: each image is decoded once at side size / AUGMENT_MIN_CROP (so even the smallest crop has a
 * source pixel per input pixel) and kept as an ImageBitmap while the memory cap allows; a crop is one drawImage of
 * that region onto the input-size canvas, read back as RGB. `blobAt(index)` reads an item's blob (from IndexedDB:
 * the dataset's blobs are not all held in memory).
 */
class CropSource {
  constructor(blobAt, size, mode = 'stretch') {
    this.blobAt = blobAt;
    this.size = size;
    this.mode = mode;
    this.sourceSide = Math.ceil(size / AUGMENT_MIN_CROP);
    this.maxCached = Math.floor(MAX_CROP_SOURCE_BYTES / (this.sourceSide * this.sourceSide * 4));
    this.bitmaps = new Map();
    this.target = makeCanvas(size);
  }

  /** The image at sourceSide², resized the way the input is (a letterboxed one keeps its bars, so crops match). */
  async decode(index) {
    const s = this.sourceSide;
    if (this.mode !== 'letterbox') {
      return createImageBitmap(await this.blobAt(index), { resizeWidth: s, resizeHeight: s, resizeQuality: 'medium' });
    }
    const full = await createImageBitmap(await this.blobAt(index));
    this.letterbox ??= makeCanvas(s);
    drawResized(this.letterbox.ctx, full, s, 'letterbox');
    full.close();
    return createImageBitmap(this.letterbox.canvas);
  }

  async bitmap(index) {
    if (this.bitmaps.has(index)) return this.bitmaps.get(index);
    const bitmap = await this.decode(index);
    if (this.bitmaps.size < this.maxCached) this.bitmaps.set(index, bitmap);
    return bitmap;
  }

  async crop(index, { x, y, side }) {
    const bitmap = await this.bitmap(index);
    const { ctx } = this.target;
    const s = this.sourceSide;
    ctx.clearRect(0, 0, this.size, this.size);
    ctx.drawImage(bitmap, x * s, y * s, side * s, side * s, 0, 0, this.size, this.size);
    if (!this.bitmaps.has(index)) bitmap.close();
    const rgba = ctx.getImageData(0, 0, this.size, this.size).data;
    const rgb = new Uint8Array(this.size * this.size * CHANNELS);
    for (let p = 0, q = 0; p < rgba.length; p += 4, q += CHANNELS) {
      rgb[q] = rgba[p];
      rgb[q + 1] = rgba[p + 1];
      rgb[q + 2] = rgba[p + 2];
    }
    return rgb;
  }

  close() {
    for (const bitmap of this.bitmaps.values()) bitmap.close();
    this.bitmaps.clear();
  }
}

/**
 * The augmented pixels of training items: crops are redrawn on the canvas from the decoded image; flip and
 * brightness then act on the resized pixels. Without a crop the cached resized pixels are the starting point,
 * so un-augmented items never pay for a redraw.
 */
export class Augmenter {
  constructor(options, { pixels, blobAt, seed }) {
    this.options = resolveAugment(options);
    this.pixels = pixels;
    this.seed = seed;
    this.crops = this.options.crop ? new CropSource(blobAt, pixels.size, pixels.mode) : null;
  }

  /** What augments item `index` in `epoch` (augmentParams): the annotations move by the same. */
  paramsOf(index, epoch) {
    return augmentParams(this.options, this.seed, epoch, index);
  }

  /** The [size, size, 3] pixels item `index` is trained on in `epoch`; `base`: its resized pixels, when already read. */
  async pixelsOf(index, epoch, base = null) {
    const params = this.paramsOf(index, epoch);
    let out = params.crop ? await this.crops.crop(index, params.crop) : base ?? this.pixels.item(index);
    if (params.flip) out = flipHorizontal(out, this.pixels.size);
    if (params.brightness !== 1) out = scaleBrightness(out, params.brightness);
    return out;
  }

  close() {
    this.crops?.close();
  }
}
