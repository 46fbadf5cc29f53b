/** Small DOM helpers shared by the pages: element creation and human-readable numbers. */

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

export const $ = (selector) => document.querySelector(selector);

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

export const fixed = (x, digits = 4) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(digits));

export function fillRows(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => el('tr', {}, ...cells.map((c) => el('td', {}, c)))));
}

/** Where a snapshot was taken: "5" after 5 epochs, "5 + 120 steps" when taken 120 steps into the next one. */
export const snapshotPosition = (snap) => (snap.epoch === null || snap.epoch === undefined ? '–'
  : `${snap.epoch}${snap.step ? ` + ${snap.step} steps` : ''}`);
