import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epochOrder, splitItems } from '../../static/js/data/split.js';

function makeItems(countsByLabel) {
  const items = [];
  for (const [label, count] of Object.entries(countsByLabel)) {
    for (let i = 0; i < count; i++) items.push({ id: `${label}-${i}`, label });
  }
  return items;
}

const counts = { cat: 50, dog: 20, fox: 7, owl: 2, yak: 1 };

test('the split is disjoint and complete', () => {
  const items = makeItems(counts);
  const { train, val } = splitItems(items, { seed: 3 });
  const ids = [...train, ...val].map((it) => it.id);
  assert.equal(new Set(ids).size, items.length);
  assert.equal(ids.length, items.length);
});

test('every class with two or more items is in both train and val, in proportion', () => {
  const { train, val } = splitItems(makeItems(counts), { valFraction: 0.2, seed: 3 });
  const count = (list, label) => list.filter((it) => it.label === label).length;
  assert.equal(count(val, 'cat'), 10);
  assert.equal(count(val, 'dog'), 4);
  assert.equal(count(val, 'fox'), 1);
  assert.equal(count(val, 'owl'), 1);
  assert.equal(count(train, 'owl'), 1);
  assert.equal(count(val, 'yak'), 0, 'a single item stays in train');
  assert.equal(count(train, 'yak'), 1);
});

test('the split is reproducible for a seed and changes with it', () => {
  const items = makeItems(counts);
  const ids = (split) => split.val.map((it) => it.id);
  assert.deepEqual(ids(splitItems(items, { seed: 5 })), ids(splitItems(items, { seed: 5 })));
  assert.notDeepEqual(ids(splitItems(items, { seed: 5 })), ids(splitItems(items, { seed: 6 })));
});

test('valFraction 0 keeps everything in train; a custom stratify key is honoured', () => {
  const items = makeItems(counts);
  assert.equal(splitItems(items, { valFraction: 0 }).val.length, 0);
  const bySpecies = splitItems(items.map((it) => ({ ...it, species: it.label === 'cat' ? 'a' : 'b' })), {
    valFraction: 0.5, stratifyBy: (it) => it.species,
  });
  assert.equal(bySpecies.val.filter((it) => it.species === 'a').length, 25);
  assert.throws(() => splitItems(items, { valFraction: 1 }), /valFraction/);
});

test('epochOrder is a permutation, new each epoch, the same on a rerun', () => {
  const first = epochOrder(100, 9, 0);
  assert.deepEqual([...first].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
  assert.notDeepEqual(epochOrder(100, 9, 1), first);
  assert.deepEqual(epochOrder(100, 9, 0), first);
  assert.notDeepEqual(epochOrder(100, 10, 0), first);
});
