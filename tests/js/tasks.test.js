import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../static/js/tf.js';
import { classification, getTask } from '../../static/js/model/tasks.js';

const close = (a, b, tolerance = 1e-5) => assert.ok(Math.abs(a - b) <= tolerance, `${a} vs ${b}`);
const scalar = async (t) => (await t.data())[0];

const yTrue = () => tf.tensor2d([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
const yPred = () => tf.tensor2d([[0.7, 0.2, 0.1], [0.3, 0.4, 0.3], [0.5, 0.3, 0.2]]);

test('cross-entropy matches a hand computation', async () => {
  const expected = -(Math.log(0.7) + Math.log(0.4) + Math.log(0.2)) / 3;
  close(await scalar(classification.loss(yTrue(), yPred())), expected);
});

test('items weighted 0 (padding) do not count in the loss or the accuracy', async () => {
  const weights = tf.tensor1d([1, 1, 0]);
  close(await scalar(classification.loss(yTrue(), yPred(), weights)), -(Math.log(0.7) + Math.log(0.4)) / 2);
  close(await scalar(classification.metrics(yTrue(), yPred(), weights).accuracy), 1);
  close(await scalar(classification.metrics(yTrue(), yPred()).accuracy), 2 / 3);
  close(await scalar(classification.loss(yTrue(), yPred(), tf.zeros([3]))), 0);
});

test('a probability of exactly 0 for the true class gives a large finite loss and finite gradients', async () => {
  const p = tf.tensor2d([[0, 1]]);
  const y = tf.tensor2d([[1, 0]]);
  const loss = await scalar(classification.loss(y, p));
  close(loss, -Math.log(1e-7), 1e-3);
  const grad = tf.grad((q) => classification.loss(y, q))(p);
  assert.ok(Array.from(await grad.data()).every(Number.isFinite));
});

test('labels encode by class name or index; an unknown label is a clear error', async () => {
  const classes = ['cat', 'dog', 'fox'];
  const encoded = classification.encodeLabels(['dog', 0, 'fox'], classes);
  assert.deepEqual(encoded.shape, [3, 3]);
  assert.equal(encoded.dtype, 'float32');
  assert.deepEqual(await encoded.array(), [[0, 1, 0], [1, 0, 0], [0, 0, 1]]);
  assert.throws(() => classification.encodeLabels(['cow'], classes), /unknown label "cow"/);
  assert.throws(() => classification.encodeLabels([3], classes), /unknown label 3/);
});

test('decode returns the most probable class per row', async () => {
  const [first, second] = await classification.decode(tf.tensor2d([[0.1, 0.9], [0.6, 0.4]]), ['no', 'yes']);
  assert.equal(first.index, 1);
  assert.equal(first.label, 'yes');
  close(first.probability, 0.9);
  assert.equal(second.label, 'no');
  assert.equal(second.probabilities.length, 2);
});

test('the head outputs probabilities over numClasses', () => {
  const input = tf.input({ shape: [5] });
  const model = tf.model({ inputs: input, outputs: classification.head(input, { numClasses: 4 }) });
  const out = model.predict(tf.randomNormal([2, 5]));
  assert.deepEqual(out.shape, [2, 4]);
  out.sum(1).arraySync().forEach((total) => close(total, 1));
  assert.throws(() => classification.head(input, { numClasses: 1 }), /numClasses/);
});

test('getTask finds every task and refuses unknown ones', () => {
  assert.equal(getTask('classification'), classification);
  assert.equal(getTask('classification').prepare({}), classification);
  assert.equal(getTask('landmarks').name, 'landmarks');
  assert.equal(getTask('detection').spatialHead, true);
  assert.throws(() => getTask('segmentation'), /unknown task 'segmentation'/);
});
