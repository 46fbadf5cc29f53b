/**
 * SVG scatter plots of one value against another, on the line charts' axes and frame (ui/chart.js): a numeric x
 * (linear or log) or a categorical one (evenly spaced ticks), each point a link with its own title, one marked.
 */
import { H, PLOT, W, axis, drawAxes, svgEl } from './chart.js';
import { el } from './dom.js';

/** Categories as an axis: evenly spaced ticks, each labelled with its value. */
function categoryAxis(categories) {
  const n = Math.max(1, categories.length);
  return { ticks: categories.map((_, i) => i), label: (i) => String(categories[i]), at: (i) => (i + 0.5) / n };
}

/**
 * Draws `points` ([{x, y, href, title, marked}]) into `container`. Options: `xTitle`, `yTitle`, `logX` (a log x
 * axis), `categories` (x values are these, in this order, instead of numbers), `xDomain` / `yDomain` ([lo, hi]: the
 * axis spans at least that range, a sweep's search range for one).
 */
export function scatterChart(container, title, points, { xTitle = 'x', yTitle = '', logX = false, categories = null, xDomain = [], yDomain = [] } = {}) {
  const caption = el('figcaption', {}, el('span', { class: 'chart-title', text: title }));
  const usable = points.filter((p) => Number.isFinite(p.y) && (categories ? categories.includes(p.x) : Number.isFinite(p.x) && (!logX || p.x > 0)));
  if (!usable.length) {
    container.replaceChildren(caption, el('p', { class: 'chart-readout hint', text: 'No values yet.' }));
    return;
  }
  const xAxis = categories ? categoryAxis(categories) : axis([...usable.map((p) => p.x), ...xDomain], { log: logX, integer: false, widen: !logX, count: 5 });
  const yAxis = axis([...usable.map((p) => p.y), ...yDomain], { log: false, integer: false, widen: true, count: 5 });
  const xOf = (x) => (categories ? categories.indexOf(x) : x);
  const px = (x) => PLOT.x0 + xAxis.at(x) * (PLOT.x1 - PLOT.x0);
  const py = (y) => PLOT.y1 - yAxis.at(y) * (PLOT.y1 - PLOT.y0);
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title}: ${yTitle} by ${xTitle}` });
  drawAxes(svg, xAxis, yAxis, px, py, { xTitle, yTitle });
  // The marked point last, so it is drawn over the others.
  for (const p of [...usable.filter((q) => !q.marked), ...usable.filter((q) => q.marked)]) {
    const dot = svgEl('circle', { class: p.marked ? 'scatter-point marked' : 'scatter-point', r: p.marked ? 6 : 4, cx: px(xOf(p.x)), cy: py(p.y) });
    dot.append(svgEl('title', {}, p.title));
    const link = svgEl('a', { href: p.href });
    link.append(dot);
    svg.append(link);
  }
  container.dataset.chart = title;
  container.replaceChildren(caption, svg);
}
