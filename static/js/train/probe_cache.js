/** Remembers, per browser, what the backend probe found (which backends train here, how fast), so it runs once. */

export const PROBE_CACHE_KEY = 'browsertrain.backendProbes';
// A driver or browser update that keeps the renderer's name still gets a fresh probe after this long.
export const PROBE_CACHE_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

/**
 * What the probe's answer depends on: tfjs, the browser and its GPU, the cores and cross-origin isolation (the wasm
 * backend's thread count comes from them). A cached answer from any other fingerprint is not used.
 */
export function probeFingerprint({ tfjs, renderer, userAgent, cores, isolated }) {
  return JSON.stringify({ tfjs: tfjs ?? null, renderer: renderer ?? null, userAgent: userAgent ?? null,
    cores: cores ?? null, isolated: Boolean(isolated) });
}

/**
 * The probes ({backend: {ok, images_per_second?, error?}}) kept in `storage` (localStorage's getItem/setItem) under
 * one fingerprint. Storage that fails (private modes, quotas, a page without it) only means probing again.
 */
export class ProbeCache {
  constructor(storage, fingerprint, { now = () => Date.now() } = {}) {
    this.storage = storage;
    this.fingerprint = fingerprint;
    this.now = now;
  }

  /** The cached probes for this fingerprint, or null (none, another fingerprint, too old, unreadable). */
  read() {
    try {
      const saved = JSON.parse(this.storage?.getItem(PROBE_CACHE_KEY) ?? 'null');
      if (!saved || saved.fingerprint !== this.fingerprint || typeof saved.probes !== 'object') return null;
      if (!(this.now() - saved.savedAt < PROBE_CACHE_MAX_AGE_MS)) return null;
      return saved.probes;
    } catch {
      return null;
    }
  }

  /** Keeps `probes`, merged over what this fingerprint already had (an explicit choice probes one backend). */
  write(probes) {
    try {
      const probesKept = { ...(this.read() ?? {}), ...probes };
      this.storage?.setItem(PROBE_CACHE_KEY, JSON.stringify({ fingerprint: this.fingerprint, savedAt: this.now(), probes: probesKept }));
    } catch {
      // as in read(): a cache that cannot be written costs a probe next time, nothing else
    }
  }

  /** Forgets the probes, e.g. when a backend the cache called good could not start. */
  clear() {
    try {
      this.storage?.removeItem(PROBE_CACHE_KEY);
    } catch {
      // as above
    }
  }
}
