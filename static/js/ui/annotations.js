/**
 * Boxes and points drawn over a picture as an SVG layer: the evaluation's worst images (truth green, predictions red)
 * and the input preview (what the loss sees, after augmentation). Annotations arrive in shares of the picture
 * (docs/tasks.md), so the layer's viewBox is the picture's own pixels and the layer sits exactly on top of it at any
 * display size. Only attributes are set, never inline styles: the pages' Content-Security-Policy forbids them.
 */
import { el } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';
/** Screen pixels, whatever the picture's size: label text, point radius. Strokes stay 2 px (non-scaling-stroke). */
const LABEL_PX = 11;
const POINT_PX = 3;

function svgEl(tag, attrs = {}, text = null) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = text;
  return node;
}

/** A hover text (SVG's <title>) for a shape. */
const titled = (node, text) => {
  node.append(svgEl('title', {}, text));
  return node;
};

const stroke = { fill: 'none', 'vector-effect': 'non-scaling-stroke' };

/** One box `{label, x, y, w, h, score?}` in shares, as a rect in the layer's units; predictions carry their score. */
function boxShape(box, kind, { width, height, unit }) {
  const [x, y, w, h] = [box.x * width, box.y * height, box.w * width, box.h * height];
  const text = box.score == null ? box.label : `${box.label} ${Number(box.score).toFixed(2)}`;
  const group = svgEl('g', { class: `box ${kind}` });
  group.append(titled(svgEl('rect', { ...stroke, class: kind, x, y, width: w, height: h }), `${kind}: ${text}`));
  if (kind === 'predicted') {
    // Above the box when there is room, else just inside its top edge; from its right edge when the box is in the
    // right half, so the text stays over the picture (the next figure starts right after it).
    const baseline = y > LABEL_PX * unit ? y - 2 * unit : y + LABEL_PX * unit;
    const right = x + w / 2 > width / 2;
    group.append(svgEl('text', {
      class: 'box-label', x: right ? x + w - unit : x + unit, y: baseline, 'font-size': LABEL_PX * unit,
      'text-anchor': right ? 'end' : 'start',
    }, text));
  }
  return group;
}

/** Points `[[x, y, v?]]` in shares: a circle each (v = 0, not labelled, is left out), named on hover. */
function pointShapes(points, kind, names, { width, height, unit }) {
  return points.flatMap(([x, y, v = 2], i) => {
    if (v === 0 || x === null || y === null) return [];
    const name = names[i] ?? `point ${i + 1}`;
    return [titled(svgEl('circle', { class: `point ${kind}`, cx: x * width, cy: y * height, r: POINT_PX * unit }), `${kind}: ${name}`)];
  });
}

/** A line from each visible true point to the prediction for the same point, named on hover. */
function pairLines(truth, predicted, names, { width, height }) {
  return truth.flatMap(([x, y, v = 2], i) => {
    const guess = predicted[i];
    if (v === 0 || !guess) return [];
    const line = svgEl('line', { ...stroke, class: 'pair', x1: x * width, y1: y * height, x2: guess[0] * width, y2: guess[1] * height });
    return [titled(line, names[i] ?? `point ${i + 1}`)];
  });
}

/**
 * The SVG layer for a `width` × `height` picture shown `scale` screen pixels per picture pixel. `shapes`:
 * {truth, predicted} (either may be missing), boxes for 'detection', point lists for 'landmarks', in shares of the
 * picture; `names` names the points. The layer says how many shapes it drew in data-truth / data-predicted.
 */
export function annotationLayer({ width, height, scale = 1 }, task, { truth = [], predicted = [] }, names = []) {
  const frame = { width, height, unit: 1 / scale };
  const svg = svgEl('svg', { class: 'annotation-layer', viewBox: `0 0 ${width} ${height}`, 'aria-hidden': 'true' });
  let drawn = { truth: 0, predicted: 0 };
  if (task === 'detection') {
    svg.append(...truth.map((b) => boxShape(b, 'truth', frame)), ...predicted.map((b) => boxShape(b, 'predicted', frame)));
    drawn = { truth: truth.length, predicted: predicted.length };
  } else if (task === 'landmarks') {
    const truthDots = pointShapes(truth, 'truth', names, frame);
    const predictedDots = pointShapes(predicted, 'predicted', names, frame);
    svg.append(...pairLines(truth, predicted, names, frame), ...truthDots, ...predictedDots);
    drawn = { truth: truthDots.length, predicted: predictedDots.length };
  }
  svg.dataset.truth = String(drawn.truth);
  svg.dataset.predicted = String(drawn.predicted);
  return svg;
}

/**
 * An image from `src` with its annotations drawn over it, at most `maxPx` screen pixels on its longer side. The
 * layer is drawn once the image has loaded (its pixel size fixes the layer's units); an image that cannot load
 * still gets its shapes, on a square. Returns the wrapper (a span), to put inside a figure.
 */
export function annotatedImage(src, task, shapes, { names = [], maxPx = 192, alt = '' } = {}) {
  const img = el('img', { src, alt, width: maxPx, height: maxPx });
  const wrapper = el('span', { class: 'annotated' }, img);
  const draw = (width, height) => {
    const scale = maxPx / Math.max(width, height);
    const [shownWidth, shownHeight] = [Math.round(width * scale), Math.round(height * scale)];
    img.setAttribute('width', String(shownWidth));
    img.setAttribute('height', String(shownHeight));
    const layer = annotationLayer({ width, height, scale }, task, shapes, names);
    layer.setAttribute('width', String(shownWidth));
    layer.setAttribute('height', String(shownHeight));
    wrapper.append(layer);
    wrapper.dataset.drawn = 'true';
  };
  img.addEventListener('load', () => draw(img.naturalWidth, img.naturalHeight), { once: true });
  img.addEventListener('error', () => draw(maxPx, maxPx), { once: true });
  return wrapper;
}

/**
 * The preview's canvas (one input, `canvas.width` pixels square) with its row's labels over it. `rowLabels` is in
 * shares of the input: {boxes: [{label, x, y, w, h}]} for detection, {points: [[x, y, v]], box?} for landmarks.
 * The layer fills the canvas's box whatever size the page shows it at. Returns the wrapper (a span).
 */
export function annotatedCanvas(canvas, rowLabels, task, { names = [], shownPx = 64 } = {}) {
  const wrapper = el('span', { class: 'annotated' }, canvas);
  if (!rowLabels) return wrapper;
  const truth = task === 'detection' ? rowLabels.boxes ?? [] : rowLabels.points ?? [];
  const layer = annotationLayer({ width: canvas.width, height: canvas.height, scale: shownPx / canvas.width }, task, { truth }, names);
  layer.setAttribute('class', 'annotation-layer fill');
  wrapper.append(layer);
  return wrapper;
}
