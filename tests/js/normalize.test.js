import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../static/js/tf.js';
import {
  IMAGENET_MEAN, IMAGENET_STD, NORMALIZATION_MODES, denormalize, normalize,
} from '../../static/js/data/normalize.js';

function assertClose(actual, expected, tolerance = 1e-5) {
  assert.equal(actual.length, expected.length);
  actual.forEach((value, i) => assert.ok(Math.abs(value - expected[i]) <= tolerance, `[${i}] ${value} vs ${expected[i]}`));
}

const pixels = () => tf.tensor4d([0, 127.5, 255, 30, 60, 90], [1, 1, 2, 3]);

test("'unit' maps [0, 255] to [0, 1] and 'symmetric' to [-1, 1]", async () => {
  assertClose(Array.from(await normalize(pixels(), 'unit').data()), [0, 0.5, 1, 30 / 255, 60 / 255, 90 / 255]);
  assertClose(Array.from(await normalize(pixels(), 'symmetric').data()), [-1, 0, 1, 30 / 127.5 - 1, 60 / 127.5 - 1, 90 / 127.5 - 1]);
});

test("'imagenet' subtracts the channel mean and divides by the channel std", async () => {
  const out = Array.from(await normalize(pixels(), 'imagenet').data());
  const expected = [0, 127.5, 255, 30, 60, 90].map((p, i) => (p / 255 - IMAGENET_MEAN[i % 3]) / IMAGENET_STD[i % 3]);
  assertClose(out, expected);
});

test('int32 pixels from fromPixels are accepted and come out float32', () => {
  const out = normalize(tf.tensor3d([0, 255, 10], [1, 1, 3], 'int32'), 'unit');
  assert.equal(out.dtype, 'float32');
});

test('denormalize gives back the displayable pixels for every mode', async () => {
  const source = tf.tensor3d([0, 1, 17, 128, 200, 255, 64, 33, 250, 99, 100, 101], [2, 2, 3], 'int32');
  for (const mode of NORMALIZATION_MODES) {
    const back = denormalize(normalize(source, mode), mode);
    assert.equal(back.dtype, 'int32');
    assert.deepEqual(Array.from(await back.data()), Array.from(await source.data()), mode);
  }
});

test('denormalize clips values outside the input range (e.g. after augmentation)', async () => {
  const out = denormalize(tf.tensor1d([-0.5, 1.5]).reshape([1, 2, 1]), 'unit');
  assert.deepEqual(Array.from(await out.data()), [0, 255]);
});

test('grayscale works for imagenet; other channel counts and unknown modes are refused', () => {
  assert.deepEqual(normalize(tf.zeros([2, 2, 1]), 'imagenet').shape, [2, 2, 1]);
  assert.throws(() => normalize(tf.zeros([2, 2, 2]), 'imagenet'), /1 or 3 channels/);
  assert.throws(() => normalize(tf.zeros([2, 2, 3]), 'zscore'), /unknown normalisation mode/);
});

test('no tensors are left behind besides the result', () => {
  const input = pixels();
  const before = tf.memory().numTensors;
  const out = normalize(input, 'imagenet');
  const back = denormalize(out, 'imagenet');
  assert.equal(tf.memory().numTensors, before + 2);
  tf.dispose([input, out, back]);
});
