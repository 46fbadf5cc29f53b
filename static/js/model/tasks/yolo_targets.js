/**
 * Detection labels → tiny-YOLO-v2 targets, on plain arrays. A label is {width, height, boxes: [{label, x, y, w, h}]}
 * in the source image's pixels (x, y the top-left corner), as the importers store them. The canvas resize stretches
 * the whole image to the input square, so dividing by the source size gives coordinates in the network's input.
 */
import { shapeIou } from './boxes.js';

/**
 * Values per anchor in a target (and in the head's output): x and y offsets of the centre in its cell, tw and th
 * (log of the size over the anchor's), objectness, then one value per class.
 */
export const BOX_FIELDS = 5;
export const FIELD = Object.freeze({ x: 0, y: 1, w: 2, h: 3, object: 4 });

/**
 * A box is dropped (at encoding and at decoding) when its width or height is under this many pixels of the
 * network's input: a 64-px input has 2-px cells at stride 32, and a box smaller than 2 px there is noise, not an
 * object the 32-px cells can place.
 */
export const MIN_BOX_PIXELS = 2;

const label = (index) => `box ${index + 1}`;

/**
 * The label's boxes in normalised input coordinates: [{classIndex, box: {x, y, w, h}}], with boxes smaller than
 * `minBoxSize` (normalised) left out. A box label is a class name or an index into `classes`. Coordinates are
 * clipped to the image (the importers allow 1 px of rounding past the edge); a size that is not positive, an
 * unknown class or an image without a size is an error naming the box.
 */
export function normaliseBoxes(annotation, classes, minBoxSize) {
  const { width, height, boxes = [] } = annotation ?? {};
  if (!(width > 0 && height > 0)) throw new Error(`a detection label needs the image's width and height, got ${width}x${height}`);
  const indexOf = new Map(classes.map((name, index) => [name, index]));
  const out = [];
  boxes.forEach((b, i) => {
    const classIndex = indexOf.has(b.label) ? indexOf.get(b.label)
      : Number.isInteger(b.label) && b.label >= 0 && b.label < classes.length ? b.label : -1;
    if (classIndex < 0) throw new Error(`${label(i)}: unknown class ${JSON.stringify(b.label)} (classes: ${classes.join(', ')})`);
    if (![b.x, b.y, b.w, b.h].every(Number.isFinite) || !(b.w > 0 && b.h > 0)) {
      throw new Error(`${label(i)}: needs finite x, y and a positive w, h, got ${JSON.stringify(b)}`);
    }
    const x0 = Math.max(0, b.x / width);
    const y0 = Math.max(0, b.y / height);
    const x1 = Math.min(1, (b.x + b.w) / width);
    const y1 = Math.min(1, (b.y + b.h) / height);
    if (x1 - x0 < minBoxSize || y1 - y0 < minBoxSize) return;
    out.push({ classIndex, box: { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } });
  });
  return out;
}

/** Anchor indices from best to worst shape IoU with `size`; ties keep the anchors' order. */
function anchorsByFit(size, anchors) {
  return anchors.map((anchor, a) => [shapeIou(size, anchor), a]).sort((p, q) => q[0] - p[0] || p[1] - q[1]).map(([, a]) => a);
}

/**
 * Targets for one image as a Float32Array [S, S, A, 5 + C] (S = gridSize, A = anchors.length, C = numClasses),
 * written at `offset` of `out`. Each box goes to the cell of its centre and its best-fitting anchor there. Two boxes
 * that want the same cell and anchor: the larger one is placed first and keeps it; the other takes its next-best
 * anchor still free in that cell, and is dropped only when every anchor of the cell is taken.
 * Returns how many boxes were placed and dropped for lack of an anchor.
 */
export function encodeImage(boxes, { anchors, gridSize, numClasses }, out, offset = 0) {
  const stride = BOX_FIELDS + numClasses;
  const bySize = [...boxes].sort((p, q) => q.box.w * q.box.h - p.box.w * p.box.h);
  const taken = new Set();
  let placed = 0;
  let dropped = 0;
  for (const { classIndex, box } of bySize) {
    const cx = (box.x + box.w / 2) * gridSize;
    const cy = (box.y + box.h / 2) * gridSize;
    // A centre exactly on the right or bottom edge belongs to the last cell (offset 1), not to a cell past the grid.
    const col = Math.min(Math.floor(cx), gridSize - 1);
    const row = Math.min(Math.floor(cy), gridSize - 1);
    const anchor = anchorsByFit([box.w, box.h], anchors).find((a) => !taken.has(`${row},${col},${a}`));
    if (anchor === undefined) {
      dropped += 1;
      continue;
    }
    taken.add(`${row},${col},${anchor}`);
    const base = offset + ((row * gridSize + col) * anchors.length + anchor) * stride;
    out[base + FIELD.x] = cx - col;
    out[base + FIELD.y] = cy - row;
    out[base + FIELD.w] = Math.log(box.w / anchors[anchor][0]);
    out[base + FIELD.h] = Math.log(box.h / anchors[anchor][1]);
    out[base + FIELD.object] = 1;
    out[base + BOX_FIELDS + classIndex] = 1;
    placed += 1;
  }
  return { placed, dropped };
}
