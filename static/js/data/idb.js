/** The IndexedDB cache of datasets: items keyed by [dataset, hash, id] and their resized pixels in chunks. */

const DB_NAME = 'browsertrain';
const DB_VERSION = 2;         // 2 added the pixel stores; a version-1 cache keeps its items and versions
const ITEMS = 'items';        // key [name, hash, id] -> {label, blob} or {annotation, blob}
const VERSIONS = 'versions';  // key [name, hash] -> {name, hash, classes, count, bytes, complete, savedAt}
const PIXEL_CHUNKS = 'pixel_chunks';  // key [name, hash, layout, chunk] -> Uint8Array of resized RGB rows
const PIXEL_SETS = 'pixel_sets';      // key [name, hash, layout] -> {chunks, count, complete, savedAt}
/** Every key of a version: [name, hash, ...anything], since an array sorts after every number and string. */
const versionRange = (name, hash) => IDBKeyRange.bound([name, hash], [name, hash, []]);

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

let opened = null;

export function openCache() {
  if (!globalThis.indexedDB) return Promise.reject(new Error('this browser has no IndexedDB'));
  opened ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      for (const name of [ITEMS, VERSIONS, PIXEL_CHUNKS, PIXEL_SETS]) {
        if (!db.objectStoreNames.contains(name)) db.createObjectStore(name);
      }
    };
    request.onsuccess = () => {
      // Another tab opening a newer version must not wait on this one forever.
      request.result.onversionchange = () => { request.result.close(); opened = null; };
      resolve(request.result);
    };
    request.onerror = () => { opened = null; reject(request.error); };
  });
  return opened;
}

/** The versions of a dataset held here, newest first. */
export async function cachedVersions(name) {
  const db = await openCache();
  const range = IDBKeyRange.bound([name, ''], [name, '\uffff']);
  const all = await promised(db.transaction(VERSIONS).objectStore(VERSIONS).getAll(range));
  return all.sort((a, b) => b.savedAt - a.savedAt);
}

/**
 * Write items ({id, label, blob}, or {id, annotation, blob} for detection and landmarks) of one version in ONE
 * transaction (one per item is ~20x slower).
 */
export async function putItems(name, hash, items) {
  const db = await openCache();
  const tx = db.transaction(ITEMS, 'readwrite');
  const store = tx.objectStore(ITEMS);
  for (const { id, ...value } of items) store.put(value, [name, hash, id]);
  await done(tx);
}

/** Mark a version whole; only then does a later visit trust it. */
export async function markComplete(record) {
  const db = await openCache();
  const tx = db.transaction(VERSIONS, 'readwrite');
  tx.objectStore(VERSIONS).put({ ...record, complete: true, savedAt: Date.now() }, [record.name, record.hash]);
  await done(tx);
}

/** Items of one version with ids in [fromId, toId], in id order: [{id, label, blob}] or [{id, annotation, blob}]. */
export async function readItems(name, hash, fromId = 0, toId = Infinity) {
  const db = await openCache();
  const tx = db.transaction(ITEMS);
  const range = IDBKeyRange.bound([name, hash, fromId], [name, hash, toId]);
  const store = tx.objectStore(ITEMS);
  const [keys, values] = await Promise.all([promised(store.getAllKeys(range)), promised(store.getAll(range))]);
  return keys.map((key, i) => ({ id: key[2], ...values[i] }));
}

/** Remove one version of a dataset: its items, its record and every stored chunk of its resized pixels. */
export async function deleteVersion(name, hash) {
  const db = await openCache();
  const stores = [ITEMS, VERSIONS, PIXEL_CHUNKS, PIXEL_SETS];
  const tx = db.transaction(stores, 'readwrite');
  for (const store of stores) tx.objectStore(store).delete(versionRange(name, hash));
  await done(tx);
}

/** The record of one stored pixel set ({chunks, count, complete}), or undefined. */
export async function pixelSet(name, hash, layout) {
  const db = await openCache();
  return promised(db.transaction(PIXEL_SETS).objectStore(PIXEL_SETS).get([name, hash, layout]));
}

/** Store chunks ([{chunk, pixels}]) of a pixel set in ONE transaction. */
export async function putPixelChunks(name, hash, layout, chunks) {
  const db = await openCache();
  const tx = db.transaction(PIXEL_CHUNKS, 'readwrite');
  const store = tx.objectStore(PIXEL_CHUNKS);
  for (const { chunk, pixels } of chunks) store.put(pixels, [name, hash, layout, chunk]);
  await done(tx);
}

/** One stored chunk's pixels (a Uint8Array), or undefined. */
export async function readPixelChunk(name, hash, layout, chunk) {
  const db = await openCache();
  return promised(db.transaction(PIXEL_CHUNKS).objectStore(PIXEL_CHUNKS).get([name, hash, layout, chunk]));
}

/** Mark a pixel set whole, after its last chunk is stored; only then does a later run trust it. */
export async function markPixelsComplete(name, hash, layout, record) {
  const db = await openCache();
  const tx = db.transaction(PIXEL_SETS, 'readwrite');
  tx.objectStore(PIXEL_SETS).put({ ...record, complete: true, savedAt: Date.now() }, [name, hash, layout]);
  await done(tx);
}

/** Remove one pixel set (its chunks and its record), e.g. the part written before the storage ran out. */
export async function deletePixelSet(name, hash, layout) {
  const db = await openCache();
  const tx = db.transaction([PIXEL_CHUNKS, PIXEL_SETS], 'readwrite');
  tx.objectStore(PIXEL_CHUNKS).delete(IDBKeyRange.bound([name, hash, layout], [name, hash, layout, []]));
  tx.objectStore(PIXEL_SETS).delete([name, hash, layout]);
  await done(tx);
}
