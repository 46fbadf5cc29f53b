import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../static/js/tf.js';
import {
  AUGMENT_MIN_CROP, Augmenter, augmentParams, flipHorizontal, isAugmenting, resolveAugment, scaleBrightness,
} from '../../static/js/data/augment.js';
import { RunInputs } from '../../static/js/data/inputs.js';
import { classification } from '../../static/js/model/tasks.js';

const SIZE = 4;

/** A stand-in for the pixel store (everything held): item i is a [4, 4, 3] ramp whose red channel is 10·x + i. */
function fakePixels(count) {
  const stride = SIZE * SIZE * 3;
  const all = new Uint8Array(count * stride);
  for (let i = 0; i < count; i++) {
    for (let p = 0; p < SIZE * SIZE; p++) {
      all[i * stride + p * 3] = 10 * (p % SIZE) + i;
      all[i * stride + p * 3 + 1] = 100;
      all[i * stride + p * 3 + 2] = 200;
    }
  }
  return { size: SIZE, streaming: false, item: (i) => all.subarray(i * stride, (i + 1) * stride), close: () => {} };
}

test('options are checked and "off" means no augmentation at all', () => {
  assert.deepEqual(resolveAugment(), { crop: false, flip: false, brightness: 0 });
  assert.equal(isAugmenting(resolveAugment()), false);
  assert.equal(isAugmenting(resolveAugment({ flip: true })), true);
  assert.throws(() => resolveAugment({ brightness: 0.9 }), /brightness/);
  const off = augmentParams(resolveAugment(), 1, 0, 0);
  assert.deepEqual(off, { crop: null, flip: false, brightness: 1 });
});

test('the augmentation of an item depends on (seed, epoch, item) only, and changes across epochs', () => {
  const options = resolveAugment({ crop: true, flip: true, brightness: 0.2 });
  assert.deepEqual(augmentParams(options, 1, 3, 7), augmentParams(options, 1, 3, 7));
  const epochs = Array.from({ length: 20 }, (_, epoch) => augmentParams(options, 1, epoch, 7));
  assert.ok(new Set(epochs.map((p) => p.crop.x)).size === 20, 'the crop did not change between epochs');
  const flips = epochs.filter((p) => p.flip).length;
  assert.ok(flips > 3 && flips < 17, `${flips}/20 flipped`);
  for (const { crop, brightness } of epochs) {
    assert.ok(crop.side >= AUGMENT_MIN_CROP && crop.side <= 1);
    assert.ok(crop.x >= 0 && crop.x + crop.side <= 1 && crop.y >= 0 && crop.y + crop.side <= 1);
    assert.ok(brightness >= 0.8 && brightness <= 1.2);
  }
  // Turning brightness on does not change which items are flipped or how they are cropped.
  const flipOnly = augmentParams(resolveAugment({ crop: true, flip: true }), 1, 3, 7);
  assert.deepEqual([flipOnly.crop, flipOnly.flip], [epochs[3].crop, epochs[3].flip]);
});

test('flip mirrors each row; brightness scales and clips to 0..255', () => {
  const pixels = fakePixels(1).item(0);
  const flipped = flipHorizontal(pixels, SIZE);
  assert.deepEqual([...flipped.subarray(0, 12)], [30, 100, 200, 20, 100, 200, 10, 100, 200, 0, 100, 200]);
  assert.deepEqual(flipHorizontal(flipped, SIZE), new Uint8Array(pixels));
  assert.deepEqual([...scaleBrightness(new Uint8Array([0, 100, 200, 255]), 1.2)], [0, 120, 240, 255]);
  assert.deepEqual([...scaleBrightness(new Uint8Array([3, 101]), 0.5)], [2, 51]);
});

test('training batches are augmented per epoch, validation batches never', async () => {
  const data = { classes: ['a', 'b'], items: [0, 1, 2, 3].map((i) => ({ id: 100 + i, label: i % 2 ? 'b' : 'a' })) };
  const split = { train: [0, 1, 2].map((index) => ({ index, label: data.items[index].label })), val: [{ index: 3, label: 'b' }] };
  const config = { normalization: 'unit', seed: 5, augment: resolveAugment({ flip: true }) };
  const inputs = new RunInputs({ data, config, task: classification, pixels: fakePixels(4), split, blobAt: null });
  const firstPixelRed = async (reader, indices) => {
    const { xs, ys } = await reader(indices);
    const red = tf.tidy(() => xs.slice([0, 0, 0, 0], [-1, 1, 1, 1]).mul(255).round().reshape([-1]));
    const values = Array.from(await red.data());
    tf.dispose([xs, ys, red]);
    return values;
  };
  let epoch = 0;
  const train = inputs.reader(split.train, () => epoch);
  const seen = [];
  for (epoch = 0; epoch < 6; epoch++) seen.push(await firstPixelRed(train, [0, 1, 2]));
  // Item i's first red pixel is i unflipped, 30 + i flipped; both must occur, as the params say.
  const expected = seen.map((_, e) => [0, 1, 2].map((i) => (augmentParams(config.augment, 5, e, i).flip ? 30 + i : i)));
  assert.deepEqual(seen, expected);
  assert.ok(seen.flat().some((v) => v >= 30) && seen.flat().some((v) => v < 30));
  assert.deepEqual(await firstPixelRed(inputs.reader(split.val), [0]), [3]);
  assert.deepEqual(inputs.itemOf(split.val)(0), { item_id: 103, label: 'b' });
  assert.ok(new Augmenter({ flip: true }, { pixels: fakePixels(1), blobAt: null, seed: 1 }).crops === null,
    'no crop, no canvas: flips work on the cached pixels');
});
