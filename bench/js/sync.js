// Evaluated in a fresh browser context (empty IndexedDB): brings a whole dataset into IndexedDB and reads it back.
// way 'bulk':      the app's loadDataset() (static/js/data/sync.js): bulk packs, one transaction per 1,000 items.
// way 'per-item':  the article's file proxy: GET /api/datasets/{name}/items/{id} for each item, one after another,
//                  each blob stored in its own IndexedDB transaction (`parallel` > 1: that many fetches in flight).
async ({ way, name, parallel = 1 }) => {
  const api = await import('/static/js/api.js');
  const start = performance.now();
  if (way === 'bulk') {
    const { loadDataset, readBlobs } = await import('/static/js/data/sync.js');
    let requests = 0;
    const data = await loadDataset(name, { onProgress: (p) => { requests = p.requests ?? requests; } });
    // loadDataset leaves the blobs in IndexedDB; reading them back is part of what the per-item way measures too.
    const blobs = await readBlobs(data, 0, data.items.length);
    const bytes = blobs.reduce((sum, blob) => sum + blob.size, 0);
    return { seconds: (performance.now() - start) / 1000, items: data.items.length, bytes, requests, source: data.source };
  }

  const promised = (request) => new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open('bench-per-item', 1);
    request.onupgradeneeded = () => request.result.createObjectStore('items');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const manifest = await api.getManifest(name);
  const store = async (item, blob) => {
    const tx = db.transaction('items', 'readwrite');
    tx.objectStore('items').put({ label: item.label, blob }, [name, manifest.hash, item.id]);
    await new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); });
  };
  let next = 0;
  const worker = async () => {
    while (next < manifest.items.length) {
      const item = manifest.items[next++];
      const response = await fetch(api.itemUrl(name, item.id));
      if (!response.ok) throw new Error(`item ${item.id}: HTTP ${response.status}`);
      await store(item, await response.blob());
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  // Read everything back, as loadDataset does, so both ways end with the items in memory.
  const tx = db.transaction('items');
  const values = await promised(tx.objectStore('items').getAll());
  const bytes = values.reduce((sum, value) => sum + value.blob.size, 0);
  db.close();
  return { seconds: (performance.now() - start) / 1000, items: values.length, bytes, requests: manifest.items.length + 1 };
}
