/** The augmentation of boxes and points: the same crop and flip (from augmentParams) that move the pixels move them. */

/** A box whose width or height, after clipping to the input, is below this share of the input side is dropped. */
export const MIN_BOX_SIDE = 0.02;

/** Name swaps that make a left name the right one and back; tried in order, case kept as written. */
const MIRROR_SWAPS = [
  [/left/g, 'right'], [/right/g, 'left'], [/Left/g, 'Right'], [/Right/g, 'Left'], [/LEFT/g, 'RIGHT'], [/RIGHT/g, 'LEFT'],
  [/^l_/, 'r_'], [/^r_/, 'l_'], [/^L_/, 'R_'], [/^R_/, 'L_'],
  [/_l$/, '_r'], [/_r$/, '_l'], [/_L$/, '_R'], [/_R$/, '_L'],
];

/**
 * For point names, the index each point takes its value from after a horizontal flip: left_eye ↔ right_eye,
 * l_hand ↔ r_hand, knee_l ↔ knee_r; a name without a partner in the list (nose) maps to itself.
 */
export function mirrorPairs(pointNames = []) {
  const indexOf = new Map(pointNames.map((name, index) => [name, index]));
  return pointNames.map((name, index) => {
    for (const [pattern, replacement] of MIRROR_SWAPS) {
      pattern.lastIndex = 0;
      if (!pattern.test(name)) continue;
      const partner = indexOf.get(name.replace(pattern, replacement));
      if (partner !== undefined && partner !== index) return partner;
    }
    return index;
  });
}

const clip01 = (value) => Math.min(1, Math.max(0, value));

/** A box in input shares after a crop {x, y, side} (shares of the input) and an optional mirror; null if dropped. */
function moveBox(box, crop, flip) {
  let x0 = box.x, y0 = box.y, x1 = box.x + box.w, y1 = box.y + box.h;
  if (crop) [x0, y0, x1, y1] = [(x0 - crop.x) / crop.side, (y0 - crop.y) / crop.side, (x1 - crop.x) / crop.side, (y1 - crop.y) / crop.side];
  [x0, y0, x1, y1] = [clip01(x0), clip01(y0), clip01(x1), clip01(y1)];
  if (x1 - x0 < MIN_BOX_SIDE || y1 - y0 < MIN_BOX_SIDE) return null;
  if (flip) [x0, x1] = [1 - x1, 1 - x0];
  return { ...box, x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/** A point [x, y, v] in input shares after a crop and an optional mirror; one pushed outside the input gets v = 0. */
function movePoint([x, y, v], crop, flip) {
  if (crop) [x, y] = [(x - crop.x) / crop.side, (y - crop.y) / crop.side];
  const inside = x >= 0 && x <= 1 && y >= 0 && y <= 1;
  if (flip) x = 1 - x;
  return [x, y, inside ? v : 0];
}

/**
 * Annotations ({boxes} / {points} in shares of the input) moved by one item's augmentParams (crop, flip;
 * brightness moves nothing). `pairs` (from mirrorPairs) says which point takes whose place under a flip, so a
 * flipped left eye is still called left_eye. Returns new objects; the input is untouched.
 */
export function augmentAnnotations({ boxes, points } = {}, params, pairs = null) {
  const out = {};
  if (boxes) out.boxes = boxes.map((box) => moveBox(box, params.crop, params.flip)).filter(Boolean);
  if (points) {
    const moved = points.map((point) => movePoint(point, params.crop, params.flip));
    out.points = params.flip && pairs ? pairs.map((from) => moved[from]) : moved;
  }
  return out;
}
