/**
 * SVG line charts for per-epoch series and the tools' sweeps: nice ticks, axis titles, a legend, hover and keyboard
 * readouts, log axes. Hand-made rather than a library: a few hundred points at most, no inline styles or scripts
 * (a strict Content-Security-Policy holds), nothing more to install or serve. Colours come from app.css
 * (`.series-N`, drawn with currentColor) so the page and the charts share one palette.
 */
import { formatLogTick, formatTick, formatValue, linearTicks, logTicks } from './axis.js';
import { el } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';
/** How many series colours app.css defines (.series-0 … .series-7). */
export const SERIES_COLOURS = 8;
export const seriesClass = (i) => `series-${i % SERIES_COLOURS}`;

// The viewBox, the plot area, svgEl, axis and drawAxes are shared with the scatter plots (ui/scatter.js).
// The viewBox; the SVG scales to its box, so at 390 px the 12-unit labels still render at about 11 px.
export const W = 360;
export const H = 220;
const PAD = { left: 60, right: 12, top: 10, bottom: 42 };  // left: 5-character tick labels beside the y title
export const PLOT = { x0: PAD.left, x1: W - PAD.right, y0: PAD.top, y1: H - PAD.bottom };

export function svgEl(tag, attrs = {}, text = null) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

/** One axis: its ticks and labels, and value → fraction of the plot (0 at the start, 1 at the end). */
export function axis(values, { log, integer, widen, count }) {
  if (log) {
    const t = logTicks(Math.min(...values), Math.max(...values), { count });
    const [a, b] = [Math.log10(t.min), Math.log10(t.max)];
    return { ticks: t.ticks, label: formatLogTick, at: (v) => (Math.log10(v) - a) / (b - a) };
  }
  const t = linearTicks(Math.min(...values), Math.max(...values), { count, integer, widen });
  const span = t.max - t.min || 1;
  return { ticks: t.ticks, label: (v) => formatTick(v, t.step), at: (v) => (v - t.min) / span };
}

export function drawAxes(svg, xAxis, yAxis, px, py, { xTitle, yTitle }) {
  const grid = svgEl('g', { class: 'chart-grid' });
  const labels = svgEl('g', { class: 'chart-ticks' });
  for (const v of yAxis.ticks) {
    grid.append(svgEl('line', { x1: PLOT.x0, x2: PLOT.x1, y1: py(v), y2: py(v) }));
    labels.append(svgEl('text', { class: 'tick y-tick', x: PLOT.x0 - 5, y: py(v) + 4, 'text-anchor': 'end' }, yAxis.label(v)));
  }
  for (const v of xAxis.ticks) {
    grid.append(svgEl('line', { x1: px(v), x2: px(v), y1: PLOT.y0, y2: PLOT.y1 }));
    labels.append(svgEl('text', { class: 'tick x-tick', x: px(v), y: PLOT.y1 + 16, 'text-anchor': 'middle' }, xAxis.label(v)));
  }
  svg.append(grid, svgEl('rect', { class: 'chart-frame', x: PLOT.x0, y: PLOT.y0, width: PLOT.x1 - PLOT.x0, height: PLOT.y1 - PLOT.y0 }),
    labels,
    svgEl('text', { class: 'axis-title x-title', x: (PLOT.x0 + PLOT.x1) / 2, y: H - 6, 'text-anchor': 'middle' }, xTitle),
    svgEl('text', { class: 'axis-title y-title', transform: `translate(12 ${(PLOT.y0 + PLOT.y1) / 2}) rotate(-90)`, 'text-anchor': 'middle' }, yTitle));
}

/**
 * The hover and keyboard readout: a guide line and a dot per series at the x nearest the pointer (or moved with
 * ←/→ when the chart has focus), and the values in words below the chart.
 */
function attachReadout(svg, readout, entries, xs, px, py, xTitle) {
  const guide = svgEl('line', { class: 'chart-guide', y1: PLOT.y0, y2: PLOT.y1, visibility: 'hidden' });
  const dots = entries.map(({ index }) => svgEl('circle', { class: `chart-dot ${seriesClass(index)}`, r: 3.5, fill: 'currentColor', visibility: 'hidden' }));
  svg.append(guide, ...dots);
  let current = -1;
  const show = (i) => {
    current = Math.max(0, Math.min(xs.length - 1, i));
    const x = xs[current];
    guide.setAttribute('x1', px(x));
    guide.setAttribute('x2', px(x));
    guide.setAttribute('visibility', 'visible');
    const parts = [];
    entries.forEach(({ name, points }, k) => {
      const point = points.find(([pointX]) => pointX === x);
      dots[k].setAttribute('visibility', point ? 'visible' : 'hidden');
      if (!point) return;
      dots[k].setAttribute('cx', px(point[0]));
      dots[k].setAttribute('cy', py(point[1]));
      parts.push(el('span', { class: seriesClass(entries[k].index), text: `${name} ${formatValue(point[1])}` }));
    });
    readout.replaceChildren(el('b', { text: `${xTitle} ${formatValue(x)}: ` }), ...parts.flatMap((p, j) => (j ? [', ', p] : [p])));
  };
  svg.addEventListener('pointermove', (event) => {
    const matrix = svg.getScreenCTM();
    if (!matrix) return;
    const local = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
    let best = 0;
    xs.forEach((x, i) => { if (Math.abs(px(x) - local.x) < Math.abs(px(xs[best]) - local.x)) best = i; });
    show(best);
  });
  svg.addEventListener('keydown', (event) => {
    const moves = { ArrowLeft: -1, ArrowRight: 1, Home: -Infinity, End: Infinity };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const step = moves[event.key];
    show(Number.isFinite(step) ? (current < 0 ? xs.length - 1 : current + step) : (step < 0 ? 0 : xs.length - 1));
  });
  svg.addEventListener('focus', () => { if (current < 0) show(xs.length - 1); });
}

/**
 * Draws `series` ({name: [[x, y], ...]}) into `container`, replacing what was there. Options: `log` (y) and `logX`
 * (x) use log10 axes; `xTitle`/`yTitle` name the axes; `integerX` keeps x ticks whole; `markX` draws a dashed
 * vertical line there; `legend: false` leaves the series names to the page (many runs); `xDomain`/`yDomain`
 * ([lo, hi]) make the axes span at least that range (a precision-recall curve spans 0 to 1 on both).
 */
export function lineChart(container, title, series, {
  log = false, logX = false, markX = null, legend = true, xTitle = 'x', yTitle = '', integerX = false,
  xDomain = [], yDomain = [],
} = {}) {
  const usable = ([x, y]) => y !== null && y !== undefined && Number.isFinite(y) && Number.isFinite(x) && (!log || y > 0) && (!logX || x > 0);
  const entries = Object.entries(series).map(([name, data], index) => ({ name, index, points: data.filter(usable) }));
  const drawn = entries.filter((e) => e.points.length);
  const caption = el('figcaption', {}, el('span', { class: 'chart-title', text: title }));
  if (legend && drawn.length) {
    caption.append(el('span', { class: 'chart-legend' }, ...drawn.map((e) => el('span', { class: `legend-item ${seriesClass(e.index)}`, text: `━ ${e.name}` }))));
  }
  const readout = el('p', { class: 'chart-readout hint', 'aria-live': 'polite' });
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title}: ${yTitle} by ${xTitle}` });
  container.dataset.chart = title;
  if (!drawn.length) {
    readout.textContent = 'No values yet.';
    container.replaceChildren(caption, readout);
    return;
  }
  const points = drawn.flatMap((e) => e.points);
  const xAxis = axis([...points.map(([x]) => x), ...xDomain], { log: logX, integer: integerX, widen: false, count: 6 });
  const yAxis = axis([...points.map(([, y]) => y), ...yDomain], { log, integer: false, widen: true, count: 5 });
  const px = (x) => PLOT.x0 + xAxis.at(x) * (PLOT.x1 - PLOT.x0);
  const py = (y) => PLOT.y1 - yAxis.at(y) * (PLOT.y1 - PLOT.y0);
  drawAxes(svg, xAxis, yAxis, px, py, { xTitle, yTitle });
  if (markX !== null && (!logX || markX > 0)) {
    svg.append(svgEl('line', { class: 'chart-mark', x1: px(markX), x2: px(markX), y1: PLOT.y0, y2: PLOT.y1 }));
  }
  for (const { index, points: valid } of drawn) {
    const attrs = { class: seriesClass(index), fill: 'none', stroke: 'currentColor', 'stroke-width': 2 };
    if (valid.length === 1) svg.append(svgEl('circle', { ...attrs, fill: 'currentColor', r: 3, cx: px(valid[0][0]), cy: py(valid[0][1]) }));
    else svg.append(svgEl('polyline', { ...attrs, points: valid.map(([x, y]) => `${px(x)},${py(y)}`).join(' ') }));
  }
  const xs = [...new Set(points.map(([x]) => x))].sort((a, b) => a - b);
  svg.setAttribute('tabindex', '0');
  readout.textContent = 'Values: hover, or focus and press ← →.';
  attachReadout(svg, readout, drawn, xs, px, py, xTitle);
  container.replaceChildren(caption, svg, readout);
}

/**
 * Each task's metric in the epoch records (`train_<key>`, `val_<key>`; docs/tasks.md): the chart's title, the live
 * stat's label, and what its loss is.
 */
const TASK_METRICS = {
  classification: { key: 'accuracy', title: 'Accuracy', valLabel: 'Val accuracy', lossTitle: 'cross-entropy' },
  detection: { key: 'iou', title: 'Mean IoU', valLabel: 'Val mean IoU', lossTitle: 'YOLO loss' },
  landmarks: { key: 'nme', title: 'NME', valLabel: 'Val NME', lossTitle: 'loss' },
};

/** The epoch records' metric of `task` (classification when unknown): {key, title, valLabel, lossTitle}. */
export const taskMetric = (task) => TASK_METRICS[task] ?? TASK_METRICS.classification;

/** The standard per-epoch charts of a run of `task`, into a `.charts` container. */
export function epochCharts(container, epochs, task = 'classification') {
  const byEpoch = new Map(epochs.map((e) => [e.epoch, e]));  // a resumed epoch replaces its earlier record
  const rows = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
  const series = (key) => rows.map((e) => [e.epoch + 1, e[key] ?? null]);
  const metric = taskMetric(task);
  const charts = [
    ['Loss', { train: series('train_loss'), val: series('val_loss') }, { yTitle: metric.lossTitle }],
    [metric.title, { train: series(`train_${metric.key}`), val: series(`val_${metric.key}`) }, { yTitle: metric.title.toLowerCase() }],
    ['Learning rate', { lr: series('lr') }, { log: true, yTitle: 'rate (log scale)' }],
    ['Images / s', { train: series('images_per_second') }, { yTitle: 'images per second' }],
    ['Tensors (tf.memory)', { tensors: series('num_tensors') }, { yTitle: 'tensors' }],
    ['GPU/host bytes (tf.memory)', { bytes: series('num_bytes') }, { yTitle: 'bytes' }],
  ];
  container.replaceChildren(...charts.map(([title, data, options]) => {
    const box = el('figure', { class: 'chart' });
    lineChart(box, title, data, { xTitle: 'epoch', integerX: true, ...options });
    return box;
  }));
}
