/** Tiny SVG line charts for the per-epoch series (no chart library: a few hundred points at most). */

const NS = 'http://www.w3.org/2000/svg';
export const COLOURS = ['#2f6fdf', '#e0702a', '#2e7d32', '#8e44ad', '#c62828', '#00838f', '#6d4c41', '#546e7a'];
const W = 360;
const H = 160;
const PAD = { left: 44, right: 8, top: 18, bottom: 20 };

function svgEl(tag, attrs) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function format(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1000 || a < 0.01 ? v.toExponential(1) : v.toPrecision(3);
}

/**
 * Draw `series` ({name: [[x, y], ...]}) into `container` (replacing what was there); `log` uses a log10 y axis,
 * `logX` a log10 x axis (learning rates); `markX` draws a dashed vertical line there; `legend: false` leaves the
 * series names to the page (many series).
 */
export function lineChart(container, title, series, { log = false, logX = false, markX = null, legend = true } = {}) {
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
  const usable = ([x, y]) => y !== null && Number.isFinite(y) && (!log || y > 0) && (!logX || x > 0);
  const points = Object.values(series).flat().filter(usable);
  svg.append(Object.assign(svgEl('text', { x: PAD.left, y: 12, 'font-size': 11, fill: '#1d2330' }), { textContent: title }));
  if (points.length) {
    const ty = (y) => (log ? Math.log10(y) : y);
    const tx = (x) => (logX ? Math.log10(x) : x);
    const xs = points.map(([x]) => tx(x));
    const ys = points.map(([, y]) => ty(y));
    const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
    let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    if (y0 === y1) { y0 -= 0.5; y1 += 0.5; }
    const px = (x) => PAD.left + ((tx(x) - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
    const py = (y) => H - PAD.bottom - ((ty(y) - y0) / (y1 - y0)) * (H - PAD.top - PAD.bottom);
    svg.append(svgEl('line', { x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom, stroke: '#ccc' }));
    for (const [y, anchor] of [[y0, H - PAD.bottom], [y1, PAD.top + 4]]) {
      const value = log ? 10 ** y : y;
      svg.append(Object.assign(svgEl('text', { x: 2, y: anchor, 'font-size': 9, fill: '#667085' }), { textContent: format(value) }));
    }
    for (const [x, anchor] of [[x0, 'start'], [x1, 'end']]) {
      const value = logX ? 10 ** x : x;
      const at = PAD.left + ((x - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
      svg.append(Object.assign(svgEl('text', { x: at, y: H - 6, 'font-size': 9, fill: '#667085', 'text-anchor': anchor }), { textContent: format(value) }));
    }
    if (markX !== null && (!logX || markX > 0)) {
      svg.append(svgEl('line', { x1: px(markX), y1: PAD.top, x2: px(markX), y2: H - PAD.bottom, stroke: '#c62828', 'stroke-dasharray': '4 3' }));
    }
    Object.entries(series).forEach(([name, data], i) => {
      const valid = data.filter(usable);
      if (!valid.length) return;
      const colour = COLOURS[i % COLOURS.length];
      svg.append(svgEl('polyline', { points: valid.map(([x, y]) => `${px(x)},${py(y)}`).join(' '), fill: 'none', stroke: colour, 'stroke-width': 1.6 }));
      if (legend) svg.append(Object.assign(svgEl('text', { x: W - PAD.right - 70 * (i + 1) + 70, y: 12, 'font-size': 10, fill: colour, 'text-anchor': 'end' }), { textContent: name }));
    });
  }
  container.replaceChildren(svg);
}

/** The standard per-epoch charts of a run, into a `.charts` container. */
export function epochCharts(container, epochs) {
  const byEpoch = new Map(epochs.map((e) => [e.epoch, e]));  // a resumed epoch replaces its earlier record
  const rows = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
  const series = (key) => rows.map((e) => [e.epoch + 1, e[key] ?? null]);
  const charts = [
    ['Loss', { train: series('train_loss'), val: series('val_loss') }, {}],
    ['Accuracy', { train: series('train_accuracy'), val: series('val_accuracy') }, {}],
    ['Learning rate', { lr: series('lr') }, { log: true }],
    ['Images / s', { train: series('images_per_second') }, {}],
    ['Tensors (tf.memory)', { tensors: series('num_tensors') }, {}],
    ['GPU/host bytes (tf.memory)', { bytes: series('num_bytes') }, {}],
  ];
  const boxes = charts.map(([title, data, options]) => {
    const box = document.createElement('div');
    box.className = 'chart';
    lineChart(box, title, data, options);
    return box;
  });
  container.replaceChildren(...boxes);
}
