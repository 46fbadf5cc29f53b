import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../static/js/tf.js';
import { PROBE_CACHE_KEY, PROBE_CACHE_MAX_AGE_MS, ProbeCache, probeFingerprint } from '../../static/js/train/probe_cache.js';
import { chooseBackend } from '../../static/js/train/backend.js';

/** localStorage's getItem/setItem/removeItem over a Map. */
function memoryStorage() {
  const map = new Map();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => map.set(k, String(v)), removeItem: (k) => map.delete(k) };
}

const here = { tfjs: '4.22.0', renderer: 'ANGLE (SwiftShader)', userAgent: 'Chromium/156', cores: 2, isolated: true };

test('probes kept under one fingerprint are read back under it', () => {
  const storage = memoryStorage();
  new ProbeCache(storage, probeFingerprint(here)).write({ wasm: { ok: true, images_per_second: 900 } });
  assert.deepEqual(new ProbeCache(storage, probeFingerprint(here)).read(), { wasm: { ok: true, images_per_second: 900 } });
});

test('another renderer, tfjs version, browser or core count does not see them', () => {
  const storage = memoryStorage();
  new ProbeCache(storage, probeFingerprint(here)).write({ webgl: { ok: true, images_per_second: 40 } });
  for (const change of [{ renderer: 'NVIDIA GeForce RTX 4090' }, { tfjs: '4.23.0' }, { userAgent: 'Chromium/157' }, { cores: 8 }, { isolated: false }]) {
    assert.equal(new ProbeCache(storage, probeFingerprint({ ...here, ...change })).read(), null, JSON.stringify(change));
  }
});

test('an old, corrupt or missing entry reads as none; a storage that throws costs nothing', () => {
  const storage = memoryStorage();
  let clock = 1000;
  const cache = new ProbeCache(storage, 'f', { now: () => clock });
  cache.write({ cpu: { ok: true, images_per_second: 10 } });
  clock += PROBE_CACHE_MAX_AGE_MS;
  assert.equal(cache.read(), null);
  storage.setItem(PROBE_CACHE_KEY, '{not json');
  assert.equal(cache.read(), null);
  const broken = { getItem: () => { throw new Error('denied'); }, setItem: () => { throw new Error('denied'); } };
  const guarded = new ProbeCache(broken, 'f');
  guarded.write({ cpu: { ok: true } });
  assert.equal(guarded.read(), null);
  assert.equal(new ProbeCache(null, 'f').read(), null);
});

test('auto probes once: the second choice reuses the answer, and another renderer probes again', async () => {
  const storage = memoryStorage();
  const first = await chooseBackend('auto', { cache: new ProbeCache(storage, probeFingerprint(here)) });
  assert.equal(first.backend, 'cpu');  // the one backend that trains under Node
  assert.ok(first.probes.cpu.images_per_second > 0 && !first.probes.cpu.cached);
  // Mark the stored answer, so that reuse is visible in what the second choice reports.
  const saved = JSON.parse(storage.getItem(PROBE_CACHE_KEY));
  saved.probes.cpu.images_per_second = 12345;
  storage.setItem(PROBE_CACHE_KEY, JSON.stringify(saved));
  const second = await chooseBackend('auto', { cache: new ProbeCache(storage, probeFingerprint(here)) });
  assert.equal(second.backend, 'cpu');
  assert.deepEqual(second.probes.cpu, { ok: true, images_per_second: 12345, cached: true });
  assert.match(second.reason, /remembered from an earlier run in this browser/);
  assert.equal(tf.getBackend(), 'cpu');
  const elsewhere = await chooseBackend('auto', { cache: new ProbeCache(storage, probeFingerprint({ ...here, renderer: 'another GPU' })) });
  assert.notEqual(elsewhere.probes.cpu.images_per_second, 12345);
  assert.ok(!elsewhere.probes.cpu.cached);
});

test('a remembered backend that no longer starts is forgotten and the choice probes afresh', async () => {
  const storage = memoryStorage();
  const cache = new ProbeCache(storage, 'f');
  // Remembered as the fastest, but never loaded under Node: it cannot start.
  cache.write({ webgpu: { ok: true, images_per_second: 1e6 }, webgl: { ok: false, error: 'x' }, wasm: { ok: false, error: 'x' },
    cpu: { ok: true, images_per_second: 1 } });
  const choice = await chooseBackend('auto', { cache });
  assert.equal(choice.backend, 'cpu');
  assert.ok(!choice.probes.cpu.cached && !choice.probes.webgpu.ok);
  assert.equal(cache.read().webgpu.ok, false);
});

test('an explicit choice remembered as training is started without a probe', async () => {
  const storage = memoryStorage();
  const cache = new ProbeCache(storage, 'f');
  cache.write({ cpu: { ok: true, images_per_second: 777 } });
  const choice = await chooseBackend('cpu', { cache });
  assert.equal(choice.backend, 'cpu');
  assert.deepEqual(choice.probes, { cpu: { ok: true, images_per_second: 777, cached: true } });
  assert.equal(tf.getBackend(), 'cpu');
});
