/** The IndexedDB cache of datasets: items keyed by [dataset, hash, id], written in large transactions. */

const DB_NAME = 'browsertrain';
const DB_VERSION = 1;
const ITEMS = 'items';        // key [name, hash, id] -> {label, blob} or {annotation, blob}
const VERSIONS = 'versions';  // key [name, hash] -> {name, hash, classes, count, bytes, complete, savedAt}

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
      request.result.createObjectStore(ITEMS);
      request.result.createObjectStore(VERSIONS);
    };
    request.onsuccess = () => resolve(request.result);
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

/** All items of one version, in id order: [{id, label, blob}] or [{id, annotation, blob}]. */
export async function readItems(name, hash) {
  const db = await openCache();
  const tx = db.transaction(ITEMS);
  const range = IDBKeyRange.bound([name, hash, 0], [name, hash, Infinity]);
  const store = tx.objectStore(ITEMS);
  const [keys, values] = await Promise.all([promised(store.getAllKeys(range)), promised(store.getAll(range))]);
  return keys.map((key, i) => ({ id: key[2], ...values[i] }));
}

/** Remove one version of a dataset (its items and its record). */
export async function deleteVersion(name, hash) {
  const db = await openCache();
  const tx = db.transaction([ITEMS, VERSIONS], 'readwrite');
  tx.objectStore(ITEMS).delete(IDBKeyRange.bound([name, hash, 0], [name, hash, Infinity]));
  tx.objectStore(VERSIONS).delete([name, hash]);
  await done(tx);
}
