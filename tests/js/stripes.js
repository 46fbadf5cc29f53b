/** Shared by the Trainer's tests: noisy stripes (two classes), a batch reader, a tiny model and a Trainer over them. */
import './setup.js';
import { tf } from '../../static/js/tf.js';
import { createRandom } from '../../static/js/data/random.js';
import { buildModel } from '../../static/js/model/builder.js';
import { classification } from '../../static/js/model/tasks.js';
import { LrController } from '../../static/js/train/schedule.js';
import { Trainer } from '../../static/js/train/loop.js';

export const SIZE = 8;
export const CLASSES = ['horizontal', 'vertical'];

/** Noisy stripes, 2 px on / 2 px off at a random phase; the class is their orientation. */
export function makeStripes(count, seed) {
  const random = createRandom(seed);
  const items = [];
  for (let i = 0; i < count; i++) {
    const label = CLASSES[i % 2];
    const phase = Math.floor(random() * 4);
    const pixels = new Float32Array(SIZE * SIZE);
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const along = label === 'horizontal' ? y : x;
        pixels[y * SIZE + x] = (((along + phase) >> 1) & 1) * 0.8 + random() * 0.2;
      }
    }
    items.push({ pixels, label });
  }
  return items;
}

export const trainItems = makeStripes(44, 1);
export const valItems = makeStripes(20, 2);

export function batchReader(items, seen = []) {
  return (indices) => {
    seen.push([...indices]);
    const xs = new Float32Array(indices.length * SIZE * SIZE);
    indices.forEach((index, row) => xs.set(items[index].pixels, row * SIZE * SIZE));
    return {
      xs: tf.tensor4d(xs, [indices.length, SIZE, SIZE, 1]),
      ys: classification.encodeLabels(indices.map((index) => items[index].label), CLASSES),
    };
  };
}

export const tinyModel = () => buildModel({ inputSize: SIZE, channels: 1, width: 4, stages: [8], numClasses: 2, seed: 2 });  // seed 1 strands this 4-filter net in a local minimum (loss 0.39)

export function makeTrainer(overrides = {}) {
  const optimizer = overrides.optimizer ?? tf.train.adam(0.02);
  return new Trainer({
    model: overrides.model ?? tinyModel(),
    task: classification,
    optimizer,
    lr: new LrController({ lr: optimizer.learningRate, plateau: null }),
    getBatch: batchReader(trainItems),
    trainCount: trainItems.length,
    batchSize: 8,
    seed: 7,
    epochs: 3,
    ...overrides,
  });
}
