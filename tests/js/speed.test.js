import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSpeed } from '../../static/js/train/speed.js';

const epochs = (...rates) => rates.map((rate, epoch) => ({ epoch, images_per_second: rate }));

test('the summary speed is the median over epochs, not the last epoch', () => {
  const speed = runSpeed(epochs(40, 500, 510, 490, 120));  // warm-up first, a slow (throttled) last epoch
  assert.equal(speed.images_per_second, 490);
  assert.equal(speed.images_per_second_steady, 495);  // median of 500, 510, 490, 120: the warm-up left out
});

test('the steady-state figure leaves out the first epoch, which pays for shader compiles', () => {
  const speed = runSpeed(epochs(10, 100, 100));
  assert.equal(speed.images_per_second, 100);
  assert.equal(speed.images_per_second_steady, 100);
  assert.equal(runSpeed(epochs(10, 100)).images_per_second_steady, 100);
});

test('one epoch has no steady state; no epochs have no speed', () => {
  assert.deepEqual(runSpeed(epochs(42)), { images_per_second: 42, images_per_second_steady: null });
  assert.deepEqual(runSpeed([]), { images_per_second: null, images_per_second_steady: null });
  assert.deepEqual(runSpeed([{ epoch: 0, images_per_second: null }]), { images_per_second: null, images_per_second_steady: null });
});
