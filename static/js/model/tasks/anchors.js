/**
 * Anchor boxes for detection, learnt from the dataset as in YOLO v2: k-means over the true boxes' sizes with the
 * distance 1 − shapeIoU, so that a large box is not "far" from every other only because its numbers are large.
 */
import { createRandom } from '../../data/random.js';
import { shapeIou } from './boxes.js';

/** Lloyd iterations stop when no box changes cluster, or after this many. */
export const MAX_KMEANS_ITERATIONS = 100;

const nearest = (size, centroids) => {
  let best = 0;
  for (let c = 1; c < centroids.length; c++) {
    if (shapeIou(size, centroids[c]) > shapeIou(size, centroids[best])) best = c;
  }
  return best;
};

/**
 * `k` anchors [w, h] from `sizes` ([w, h] each, normalised), sorted by area, the same for the same `seed`.
 * Seeding is k-means++ with the IoU distance (each next centre drawn with probability ∝ its distance to the
 * nearest chosen one), which starts from spread-out shapes. With fewer distinct sizes than k, every distinct size
 * becomes an anchor and the last one repeats, so the head's width stays what the config said.
 * Returns {anchors, meanIou}: meanIou is the mean best shape IoU of a box with the anchors (YOLO v2's "Avg IOU").
 */
export function kmeansAnchors(sizes, k, seed) {
  if (!Number.isInteger(k) || k < 1) throw new Error(`the number of anchors must be an integer >= 1, got ${k}`);
  if (sizes.length === 0) throw new Error('no boxes to compute anchors from: the dataset has no annotated box');
  for (const [w, h] of sizes) {
    if (!(w > 0 && h > 0)) throw new Error(`box sizes must be positive, got ${w}x${h}`);
  }
  const distinct = [...new Map(sizes.map((s) => [`${s[0]},${s[1]}`, s])).values()];
  let centroids;
  if (distinct.length <= k) {
    centroids = distinct.map((s) => [...s]);
  } else {
    const random = createRandom(seed);
    centroids = [[...distinct[Math.floor(random() * distinct.length)]]];
    while (centroids.length < k) {
      const distances = distinct.map((s) => 1 - shapeIou(s, centroids[nearest(s, centroids)]));
      let draw = random() * distances.reduce((a, b) => a + b, 0);
      let pick = distances.findIndex((d) => (draw -= d) < 0);
      if (pick < 0) pick = distances.findLastIndex((d) => d > 0);
      centroids.push([...distinct[pick]]);
    }
    let assignment = null;
    for (let iteration = 0; iteration < MAX_KMEANS_ITERATIONS; iteration++) {
      const next = sizes.map((s) => nearest(s, centroids));
      if (assignment && next.every((c, i) => c === assignment[i])) break;
      assignment = next;
      centroids = centroids.map((old, c) => {
        const members = sizes.filter((_, i) => assignment[i] === c);
        if (members.length === 0) return old;  // an emptied cluster keeps its centre rather than vanishing
        return [0, 1].map((axis) => members.reduce((sum, m) => sum + m[axis], 0) / members.length);
      });
    }
  }
  centroids.sort((a, b) => a[0] * a[1] - b[0] * b[1]);
  while (centroids.length < k) centroids.push([...centroids.at(-1)]);
  const meanIou = sizes.reduce((sum, s) => sum + shapeIou(s, centroids[nearest(s, centroids)]), 0) / sizes.length;
  return { anchors: centroids, meanIou };
}
