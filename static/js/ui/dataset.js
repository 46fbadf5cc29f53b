/**
 * Dataset page: the items as a grid with their labels, filterable by class. Detection items show their box count
 * and filter by the classes of their boxes; landmarks items show how many of their points are labelled.
 */
import { deleteDataset, getManifest, itemUrl } from '../api.js';
import { $, bytes, el } from './dom.js';

const GRID_LIMIT = 500;  // a first screenful; the bulk endpoint is for training, not browsing
const name = $('#dataset-title').dataset.dataset;

/** The classes an item shows under (a classification label, or the labels of its boxes). */
function classesOf(item) {
  if (item.boxes) return new Set(item.boxes.map((box) => box.label));
  return new Set(item.label === undefined ? [] : [item.label]);
}

function caption(item) {
  if (item.boxes) {
    const labels = [...classesOf(item)].join(', ');
    return `${item.boxes.length} box${item.boxes.length === 1 ? '' : 'es'}${labels ? `: ${labels}` : ''}`;
  }
  if (item.points) return `${item.points.filter((p) => p[2] > 0).length}/${item.points.length} points`;
  return item.label;
}

function showGrid(manifest, label) {
  const items = manifest.items.filter((it) => !label || classesOf(it).has(label)).slice(0, GRID_LIMIT);
  $('#item-grid').replaceChildren(...items.map((it) => el('figure', { class: 'item' },
    el('img', { src: itemUrl(name, it.id), alt: caption(it), loading: 'lazy', width: 64, height: 64 }),
    el('figcaption', { text: caption(it) }))));
}

function describe(manifest) {
  const task = manifest.task ?? 'classification';
  if (task === 'landmarks') return `landmarks (${manifest.point_names.join(', ')})`;
  const classes = `${manifest.classes.length} classes`;
  return task === 'detection' ? `detection, ${manifest.num_boxes.toLocaleString('en')} boxes of ${classes}` : classes;
}

try {
  const manifest = await getManifest(name);
  $('#dataset-summary').textContent = `${manifest.num_items} images, ${describe(manifest)}, `
    + `${bytes(manifest.total_bytes)}, imported from ${manifest.source_format}, hash ${manifest.hash}`;
  const counts = new Map(manifest.classes.map((label) => [label, 0]));
  for (const item of manifest.items) {
    for (const label of classesOf(item)) counts.set(label, (counts.get(label) ?? 0) + 1);
  }
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
