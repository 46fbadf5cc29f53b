import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRandom, deriveSeed, shuffled, toSeed } from '../../static/js/data/random.js';

test('the same seed gives the same stream, another seed another one', () => {
  const a = createRandom(42);
  const b = createRandom(42);
  const c = createRandom(43);
  const first = Array.from({ length: 5 }, a);
  assert.deepEqual(first, Array.from({ length: 5 }, b));
  assert.notDeepEqual(first, Array.from({ length: 5 }, c));
  assert.ok(first.every((x) => x >= 0 && x < 1));
});

test('values spread evenly over [0, 1)', () => {
  const random = createRandom(7);
  const buckets = new Array(10).fill(0);
  for (let i = 0; i < 10000; i++) buckets[Math.floor(random() * 10)] += 1;
  assert.ok(buckets.every((count) => count > 900 && count < 1100), buckets.join(','));
});

test('shuffled returns a new permutation and leaves the input alone', () => {
  const items = Array.from({ length: 50 }, (_, i) => i);
  const out = shuffled(items, 1);
  assert.deepEqual(items, Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(out, items);
  assert.deepEqual([...out].sort((x, y) => x - y), items);
  assert.deepEqual(shuffled(items, 1), out);
});

test('derived seeds keep (seed, salt) pairs apart and strings work as seeds', () => {
  assert.notEqual(deriveSeed(1, 2), deriveSeed(2, 1));
  assert.equal(deriveSeed('run-a', 3), deriveSeed('run-a', 3));
  assert.equal(toSeed('abc'), toSeed('abc'));
  assert.throws(() => toSeed(0.5), /integer or a string/);
});
