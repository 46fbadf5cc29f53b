/** Brings a dataset into IndexedDB once, through the bulk endpoint, and serves it from there afterwards. */
import { bulkUrl, getManifest } from '../api.js';
import { cachedVersions, deleteVersion, markComplete, putItems, readItems } from './idb.js';
import { parsePack } from './pack.js';
import { phaseDone, timingNow } from '../timing.js';

export const SYNC_CHUNK_ITEMS = 1000;  // items per bulk request and per IndexedDB transaction
const STORAGE_HEADROOM = 1.2;           // IndexedDB stores blobs with some overhead

/** The median of the shorter side of manifest items ({width, height}), or null when no item has a size. */
export function medianSide(items) {
  const sides = items.filter((it) => it.width > 0 && it.height > 0).map((it) => Math.min(it.width, it.height))
    .sort((a, b) => a - b);
  if (!sides.length) return null;
  const mid = sides.length >> 1;
  return sides.length % 2 ? sides[mid] : (sides[mid - 1] + sides[mid]) / 2;
}

/** Read a response body into one buffer, reporting bytes as they arrive. */
async function readBody(response, onBytes) {
  const total = Number(response.headers.get('Content-Length')) || 0;
  const reader = response.body.getReader();
  let buffer = new Uint8Array(total || 1 << 20);
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (length + value.length > buffer.length) {
      const grown = new Uint8Array(Math.max(buffer.length * 2, length + value.length));
      grown.set(buffer.subarray(0, length));
      buffer = grown;
    }
    buffer.set(value, length);
    length += value.length;
    onBytes(value.length);
  }
  return buffer.buffer.slice(0, length);
}

export const megabytes = (n) => `${(n / 1024 ** 2).toFixed(1)} MB`;

/** The browser storage still free for this origin in bytes, or null when the browser does not say. */
export async function freeStorage() {
  if (!navigator.storage?.estimate) return null;
  const { quota, usage } = await navigator.storage.estimate();
  return quota - usage;
}

/** Refuses before writing when `what` (e.g. 'this dataset') needs more browser storage than is free. */
export async function checkSpace(bytesNeeded, what = 'this dataset') {
  const free = await freeStorage();
  if (free !== null && bytesNeeded * STORAGE_HEADROOM > free) {
    throw new Error(`${what} needs about ${megabytes(bytesNeeded * STORAGE_HEADROOM)} of browser storage `
      + `but only ${megabytes(free)} is free; free some space or use a smaller dataset`);
  }
}

/** What the cache keeps of a manifest besides its items: the task, classes, point names and median side. */
function versionOf(manifest) {
  return { name: manifest.name, hash: manifest.hash, task: manifest.task ?? 'classification', classes: manifest.classes,
    pointNames: manifest.point_names ?? [], side: medianSide(manifest.items) };
}

async function download(manifest, onProgress) {
  await checkSpace(manifest.total_bytes);
  const progress = { items: 0, totalItems: manifest.num_items, bytes: 0, totalBytes: manifest.total_bytes, requests: 0 };
  onProgress?.({ ...progress, phase: 'download' });
  for (let start = 0; start < manifest.num_items; start += SYNC_CHUNK_ITEMS) {
    let began = timingNow();
    const response = await fetch(bulkUrl(manifest.name, start, SYNC_CHUNK_ITEMS));
    progress.requests += 1;
    if (!response.ok) throw new Error(`downloading ${manifest.name} failed: HTTP ${response.status}`);
    const buffer = await readBody(response, (n) => {
      progress.bytes += n;
      onProgress?.({ ...progress, phase: 'download' });
    });
    const { header, items } = parsePack(buffer);
    if (header.hash !== manifest.hash) throw new Error(`${manifest.name} changed on the server while downloading`);
    began = phaseDone('download', began);
    await putItems(manifest.name, manifest.hash, items.map(({ id, label, annotation, bytes, contentType }) => ({
      id, ...(annotation ? { annotation } : { label }), blob: new Blob([bytes], { type: contentType }),
    })));
    phaseDone('idb-write', began);
    progress.items += items.length;
    onProgress?.({ ...progress, phase: 'download' });
  }
  await markComplete({ ...versionOf(manifest), count: manifest.num_items, bytes: manifest.total_bytes });
}

/**
 * The blobs of the items at positions [start, end) of a loaded dataset (`data` from loadDataset), read from
 * IndexedDB in one range request: the items themselves carry no blobs, so a large set is never all in memory.
 */
export async function readBlobs(data, start, end) {
  if (end <= start) return [];
  const { items } = data;
  const read = await readItems(data.name, data.hash, items[start].id, items[end - 1].id);
  return read.map((item) => item.blob);
}

/**
 * `blobAt(position)` over a loaded dataset for readers that go item by item (the random crop): blobs are read a
 * chunk's range of `chunkItems` items at a time, and the last `keepChunks` ranges are kept.
 */
export function chunkedBlobs(data, chunkItems, keepChunks) {
  const ranges = new Map();  // chunk -> Promise of its blobs
  return async (position) => {
    const chunk = Math.floor(position / chunkItems);
    if (!ranges.has(chunk)) {
      if (ranges.size >= keepChunks) ranges.delete(ranges.keys().next().value);
      const start = chunk * chunkItems;
      const read = readBlobs(data, start, Math.min(data.items.length, start + chunkItems));
      read.catch(() => ranges.delete(chunk));  // a failed read is tried again next time
      ranges.set(chunk, read);
    }
    return (await ranges.get(chunk))[position - chunk * chunkItems];
  };
}

/**
 * Every item's blob of a loaded dataset by id, for the few images a finished run shows: IndexedDB hands back
 * references to its stored files, so this holds handles, not the images' bytes.
 */
export async function blobsById(data) {
  return new Map((await readItems(data.name, data.hash)).map((item) => [item.id, item.blob]));
}

/**
 * The dataset's items as [{id, label}] (detection and landmarks: [{id, annotation}], see pack.js; their blobs stay
 * in IndexedDB: readBlobs) plus
 * {name, hash, task, classes, pointNames, side, source}; side is the median image side (null if unknown); source is 'cache' when no item was requested, 'server' after a download, 'offline' when the
 * server could not be reached.
 */
export async function loadDataset(name, { onProgress } = {}) {
  if (!name) throw new Error('choose a dataset first');
  let manifest = null;
  const manifestStart = timingNow();
  try {
    manifest = await getManifest(name);
  } catch (err) {
    if (err.status) throw err;  // the server answered: a real error, not an outage
  }
  phaseDone('manifest', manifestStart);
  const versions = (await cachedVersions(name)).filter((v) => v.complete);
  let version = manifest ? versions.find((v) => v.hash === manifest.hash) : versions[0];
  let source = manifest ? 'cache' : 'offline';
  if (!version) {
    if (!manifest) throw new Error(`the server is unreachable and ${name} was never downloaded here`);
    await download(manifest, onProgress);
    version = versionOf(manifest);
    source = 'server';
  }
  for (const old of versions) {
    if (old.hash !== version.hash) await deleteVersion(name, old.hash);
  }
  const readStart = timingNow();
  const items = (await readItems(name, version.hash))
    .map((item) => Object.fromEntries(Object.entries(item).filter(([key]) => key !== 'blob')));
  phaseDone('idb-read', readStart);
  onProgress?.({ phase: 'ready', items: items.length, totalItems: items.length, source });
  const side = version.side ?? (manifest ? medianSide(manifest.items) : null);
  return { name, hash: version.hash, task: version.task ?? 'classification', classes: version.classes,
    pointNames: version.pointNames ?? [], side, items, source };
}
