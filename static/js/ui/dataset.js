/** Dataset page: the items as a grid with their labels, filterable by class. */
import { deleteDataset, getManifest, itemUrl } from '../api.js';
import { $, bytes, el } from './dom.js';

const GRID_LIMIT = 500;  // a first screenful; the bulk endpoint is for training, not browsing
const name = $('#dataset-title').dataset.dataset;

function showGrid(manifest, label) {
  const items = manifest.items.filter((it) => !label || it.label === label).slice(0, GRID_LIMIT);
  $('#item-grid').replaceChildren(...items.map((it) => el('figure', { class: 'item' },
    el('img', { src: itemUrl(name, it.id), alt: it.label, loading: 'lazy', width: 64, height: 64 }),
    el('figcaption', { text: it.label }))));
}

try {
  const manifest = await getManifest(name);
  $('#dataset-summary').textContent = `${manifest.num_items} images, ${manifest.classes.length} classes, `
    + `${bytes(manifest.total_bytes)}, imported from ${manifest.source_format}, hash ${manifest.hash}`;
  const counts = new Map(manifest.classes.map((label) => [label, 0]));
  for (const item of manifest.items) counts.set(item.label, (counts.get(item.label) ?? 0) + 1);
  const buttons = [null, ...manifest.classes].map((label) => el('button', {
    type: 'button', class: 'chip', 'aria-pressed': String(label === null), 'data-class': label ?? '',
    text: `${label ?? 'all'} (${(label === null ? manifest.num_items : counts.get(label)).toLocaleString('en')})`,
    onclick: (event) => {
      for (const button of buttons) button.setAttribute('aria-pressed', String(button === event.currentTarget));
      showGrid(manifest, label);
    },
  }));
  $('#class-filter').replaceChildren(...buttons);
  $('#class-filter').setAttribute('aria-label', 'Show the images of one class');
  showGrid(manifest, null);
} catch (err) {
  $('#dataset-summary').textContent = `Could not load ${name}: ${err.message}`;
}

$('#delete-dataset').addEventListener('click', async () => {
  if (!confirm(`Delete the dataset ${name}? Runs keep their records.`)) return;
  await deleteDataset(name);
  location.href = '/';
});
document.body.dataset.ready = 'true';
