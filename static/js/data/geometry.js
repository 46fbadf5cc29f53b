/** The resize from source pixels to the model input, as a recorded transform that maps boxes and points both ways. */

export const RESIZE_MODES = Object.freeze(['stretch', 'letterbox']);
/** The colour of the letterbox bars: black, which is 0 in every normalisation's raw pixels before scaling. */
export const LETTERBOX_PAD_COLOUR = 'rgb(0, 0, 0)';

/**
 * The transform that takes a `width`×`height` source onto the `size`×`size` input. 'stretch' scales each axis on
 * its own; 'letterbox' keeps the aspect ratio and centres the image between pad bars. The object is plain data
 * (it can be stored beside a prediction) with source-pixel → input-pixel as input = source·scale + pad.
 */
export function resizeTransform(width, height, size, mode = 'stretch') {
  if (!RESIZE_MODES.includes(mode)) throw new Error(`resize mode must be one of ${RESIZE_MODES.join(', ')}, not ${mode}`);
  if (!(width > 0 && height > 0 && size > 0)) throw new Error('source and input sizes must be positive');
  if (mode === 'stretch') {
    return { mode, scale_x: size / width, scale_y: size / height, pad_x: 0, pad_y: 0, source: [width, height], input: size };
  }
  const scale = Math.min(size / width, size / height);
  return {
    mode, scale_x: scale, scale_y: scale, pad_x: (size - width * scale) / 2, pad_y: (size - height * scale) / 2,
    source: [width, height], input: size,
  };
}

/** The rectangle (input pixels) the source is drawn into: what drawImage needs. */
export function drawRect(transform) {
  const [width, height] = transform.source;
  return { x: transform.pad_x, y: transform.pad_y, w: width * transform.scale_x, h: height * transform.scale_y };
}

/** A point [x, y, ...rest] in source pixels → input pixels (rest, e.g. visibility, is kept). */
export function pointToInput(t, [x, y, ...rest]) {
  return [x * t.scale_x + t.pad_x, y * t.scale_y + t.pad_y, ...rest];
}

/** A point [x, y, ...rest] in input pixels → source pixels. */
export function pointToSource(t, [x, y, ...rest]) {
  return [(x - t.pad_x) / t.scale_x, (y - t.pad_y) / t.scale_y, ...rest];
}

/** A box {x, y, w, h, ...} (top-left corner) in source pixels → input pixels; other keys (label) are kept. */
export function boxToInput(t, box) {
  return { ...box, x: box.x * t.scale_x + t.pad_x, y: box.y * t.scale_y + t.pad_y, w: box.w * t.scale_x, h: box.h * t.scale_y };
}

/** A box in input pixels → source pixels. */
export function boxToSource(t, box) {
  return { ...box, x: (box.x - t.pad_x) / t.scale_x, y: (box.y - t.pad_y) / t.scale_y, w: box.w / t.scale_x, h: box.h / t.scale_y };
}

/** Input pixels → shares [0, 1] of the input side, the form batches carry (and back, with `denormalizeX`). */
export const normalizePoint = (t, [x, y, ...rest]) => [x / t.input, y / t.input, ...rest];
export const denormalizePoint = (t, [x, y, ...rest]) => [x * t.input, y * t.input, ...rest];
export const normalizeBox = (t, box) => ({ ...box, x: box.x / t.input, y: box.y / t.input, w: box.w / t.input, h: box.h / t.input });
export const denormalizeBox = (t, box) => ({ ...box, x: box.x * t.input, y: box.y * t.input, w: box.w * t.input, h: box.h * t.input });

/**
 * An item's annotations ({boxes} or {points}, source pixels, as in the manifest) → the same keys in shares of the
 * input. A point with v = 0 (not labelled) stays v = 0; its coordinates are carried but mean nothing.
 */
export function annotationsToInput(t, { boxes, points } = {}) {
  const out = {};
  if (boxes) out.boxes = boxes.map((box) => normalizeBox(t, boxToInput(t, box)));
  if (points) out.points = points.map((point) => normalizePoint(t, pointToInput(t, point)));
  return out;
}

/** Predictions in shares of the input ({boxes} / {points}) → source pixels of the image they were made on. */
export function annotationsToSource(t, { boxes, points } = {}) {
  const out = {};
  if (boxes) out.boxes = boxes.map((box) => boxToSource(t, denormalizeBox(t, box)));
  if (points) out.points = points.map((point) => pointToSource(t, denormalizePoint(t, point)));
  return out;
}

/**
 * The object a landmarks item's points belong to, as a box {x, y, w, h} in the points' own units: the item's `box`
 * when it has one, else the bounding box of its visible points (v = 0: not labelled), or null when none is visible.
 * NME divides by its diagonal (training metric, evaluation and the export gate alike).
 */
export function objectBox({ box, points = [] }) {
  if (box) return box;
  const visible = points.filter((p) => p[2] !== 0);
  if (!visible.length) return null;
  const xs = visible.map((p) => p[0]);
  const ys = visible.map((p) => p[1]);
  return { x: Math.min(...xs), y: Math.min(...ys), w: Math.max(...xs) - Math.min(...xs), h: Math.max(...ys) - Math.min(...ys) };
}
