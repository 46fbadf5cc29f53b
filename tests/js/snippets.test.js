import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snippets } from '../../static/js/ui/snippets.js';

const AsyncFunction = (async () => {}).constructor;
const FORMATS = ['uint8', 'keras', 'savedmodel', 'tflite'].map((format) => ({ format, filename: `faces-r1-s2-${format}.zip` }));
const DETECTION = { task: 'detection', classes: ['face'], anchors: [[0.2, 0.2]], grid_size: 2, input_size: 64,
  score_threshold: 0.3, iou_threshold: 0.45, min_box_pixels: 2, resize: { mode: 'letterbox' } };
const LANDMARKS = { task: 'landmarks', point_names: ['left_eye', 'right_eye'], input_size: 32, resize: { mode: 'stretch' } };
const summary = (task, meta, labels) => ({ task, task_metadata: meta, labels, formats: FORMATS, input_name: 'image' });

/** The JavaScript snippet compiles as the body of an async function of the names a page gives it. */
const compiles = (code) => new AsyncFunction('tf', 'document', 'image', 'console', code);

test('a classifier\'s snippets print the top three labels, as before', () => {
  const [[, js], [, keras]] = snippets(summary('classification', null, ['a', 'b']));
  compiles(js);
  assert.match(js, /\.drawImage\(image, 0, 0, input\.width, input\.height\)/);
  assert.match(js, /slice\(0, 3\)/);
  assert.match(keras, /np\.argsort\(outputs\)/);
});

test('a detection run\'s JavaScript snippet letterboxes like the run and pastes the decoder it calls', () => {
  const [[, js], [, keras]] = snippets(summary('detection', DETECTION, ['face']));
  compiles(js);
  assert.match(js, /task_metadata: meta/);
  assert.match(js, /fillRect\(0, 0, input\.width, input\.height\)/);
  assert.match(js, /decodeBoxes\(values, meta, width, height\)/);
  assert.match(js, /function decodeBoxes\(values, meta, width, height\) \{/);
  assert.match(js, /function toImagePixels\(/);
  assert.doesNotMatch(js, /slice\(0, 3\)\.map|top3/);
  assert.match(keras, /ImageOps\.pad\(image, size/);
});

test('a landmarks run\'s snippets print named points in the image\'s pixels', () => {
  const [[, js], [, keras]] = snippets(summary('landmarks', LANDMARKS, ['left_eye', 'right_eye']));
  compiles(js);
  assert.match(js, /decodePoints\(values, meta, width, height\)/);
  assert.doesNotMatch(js, /fillRect/);
  assert.match(keras, /zip\(meta\["labels"\], np\.asarray\(outputs\)\.reshape\(-1, 2\)\)/);
});
