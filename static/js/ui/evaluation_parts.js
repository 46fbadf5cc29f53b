/** Pieces the evaluation views share: the headline numbers, a results table, the grid of worst images. */
import { el } from './dom.js';

/** A score for people: 3 decimals, a dash when the run could not compute it. */
export const score = (x) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(3));

/** The headline numbers as stat boxes: [[label, value, id]]; the id lets a page or test find one number. */
export function headline(stats, note) {
  return el('div', {},
    el('div', { class: 'stats evaluation-headline' }, ...stats.map(([label, value, id]) => el('div', { class: 'stat' },
      label, el('b', { id, text: value })))),
    el('p', { class: 'hint', text: note }));
}

/** A results table: `rows` are arrays of cells (text or nodes); the first cell of a row names it. */
export function resultsTable(className, headings, rows) {
  const cell = (c) => (typeof c === 'string' ? el('td', { text: c }) : el('td', {}, c));
  return el('div', { class: 'table-scroll' }, el('table', { class: `list ${className}` },
    el('thead', {}, el('tr', {}, ...headings.map((h) => el('th', { text: h })))),
    el('tbody', {}, ...rows.map((cells) => el('tr', {}, ...cells.map(cell))))));
}

/**
 * A bar for a table cell: `value` out of `max` (the largest in the table), with the number beside it. A <meter>,
 * drawn in one neutral colour (app.css): relative to the worst row, it compares rows, it does not grade them.
 */
export function bar(value, max) {
  return el('span', {}, el('meter', { class: 'bar', min: 0, max: max || 1, value: value ?? 0 }), ` ${score(value)}`);
}

/**
 * The worst images of a run, each drawn with its truth and predictions: `figure(item)` builds one figure.
 * `empty` is the sentence for a run without any.
 */
export function worstImages(id, title, items, figure, empty) {
  return [
    el('h3', { text: title }),
    items.length ? el('div', { class: 'worst-images', id }, ...items.map(figure)) : el('p', { class: 'hint', text: empty }),
  ];
}
