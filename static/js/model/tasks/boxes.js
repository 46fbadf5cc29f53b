/** Box arithmetic on plain numbers: intersection over union, shape IoU (for anchors) and non-maximum suppression. */

/** Boxes are {x, y, w, h}: the top-left corner and the size, in the same units (normalised image coordinates here). */
export function iou(a, b) {
  const overlapW = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const overlapH = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (overlapW <= 0 || overlapH <= 0) return 0;
  const intersection = overlapW * overlapH;
  const union = a.w * a.h + b.w * b.h - intersection;
  return union > 0 ? intersection / union : 0;
}

/**
 * IoU of two sizes [w, h] placed on the same centre: how alike two shapes are, whatever their position. This is
 * the similarity both the anchor k-means and the choice of a box's anchor use (YOLO v2).
 */
export function shapeIou([w1, h1], [w2, h2]) {
  const intersection = Math.min(w1, w2) * Math.min(h1, h2);
  const union = w1 * h1 + w2 * h2 - intersection;
  return union > 0 ? intersection / union : 0;
}

/**
 * Greedy non-maximum suppression: `detections` ({score, box, ...}) sorted by score, each kept unless it overlaps
 * an already kept one by more than `iouThreshold`. Returns the kept detections, best first (the input is not
 * changed). Ties in score keep the input order, so the result does not depend on the sort's stability.
 */
export function nonMaxSuppression(detections, iouThreshold) {
  const order = detections.map((d, i) => [d, i]).sort((a, b) => b[0].score - a[0].score || a[1] - b[1]);
  const kept = [];
  for (const [candidate] of order) {
    if (kept.every((k) => iou(k.box, candidate.box) <= iouThreshold)) kept.push(candidate);
  }
  return kept;
}
