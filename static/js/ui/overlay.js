/**
 * An image with a model's boxes or points drawn over it: an SVG on top of the <img>, in the source image's pixels
 * (its viewBox), so the drawing scales with the image at any display size.
 */
import { el } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
/** Point markers and label text, as a share of the image's longer side (readable on a 32-px or a 4,000-px image). */
const MARKER_SHARE = 0.03;
const TEXT_SHARE = 0.05;
/** Boxes listed under the image at most (an undertrained detector can find dozens); all of them are drawn. */
export const MAX_LISTED_BOXES = 10;

function shape(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  Object.entries(attrs).forEach(([key, value]) => node.setAttribute(key, String(value)));
  if (text) node.textContent = text;
  return node;
}

const percent = (p) => `${(p * 100).toFixed(0)}%`;

/** The SVG layer for `answer` ({width, height, boxes} or {width, height, points}, source pixels). */
function drawing({ width, height, boxes = [], points = [] }) {
  const side = Math.max(width, height);
  const svg = shape('svg', { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', class: 'overlay', 'aria-hidden': 'true' });
  for (const box of boxes) {
    svg.append(shape('rect', { x: box.x, y: box.y, width: box.w, height: box.h, class: 'overlay-box' }),
      shape('text', { x: box.x, y: Math.max(box.y - side * 0.01, side * TEXT_SHARE), 'font-size': side * TEXT_SHARE,
        class: 'overlay-label' }, `${box.label} ${percent(box.score)}`));
  }
  for (const point of points) {
    const marker = shape('circle', { cx: point.x, cy: point.y, r: side * MARKER_SHARE, class: 'overlay-point' });
    marker.append(shape('title', {}, point.name));  // the point's name on hover
    svg.append(marker);
  }
  return svg;
}

/** A figure body: the image (from `url`) with `answer` drawn over it. */
export function annotatedImage(url, alt, answer, onload) {
  return el('div', { class: 'overlay-frame' }, el('img', { src: url, alt, onload }), drawing(answer));
}

/** The answer as text under the image: one line per box (label, score, x, y, w, h) or point (name, x, y), pixels. */
export function annotationList(answer) {
  const px = (v) => Math.round(v);
  const rows = answer.boxes
    ? answer.boxes.slice(0, MAX_LISTED_BOXES).map((b) => `${b.label} ${percent(b.score)} at ${px(b.x)}, ${px(b.y)} (${px(b.w)}×${px(b.h)})`)
    : answer.points.map((p) => `${p.name}: ${px(p.x)}, ${px(p.y)}`);
  if (!rows.length) return el('p', { class: 'hint', text: 'No box over the score threshold.' });
  const more = (answer.boxes?.length ?? 0) - rows.length;
  return el('ul', { class: 'annotation-list' }, ...rows.map((text) => el('li', { text })),
    ...(more > 0 ? [el('li', { class: 'hint', text: `and ${more} more (drawn on the image)` })] : []));
}
