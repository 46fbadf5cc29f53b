// static/shared_rules.json defines the rules the pages share with the server once: every page module that uses one
// must say what the file says. tests/api/test_shared_rules.py holds the server to the same file.
import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as shared from '../../static/js/shared_rules.js';
import { DEFAULT_RUN_CONFIG } from '../../static/js/train/run_config.js';
import { MAX_OVERFIT_IMAGES, OverfitSession } from '../../static/js/train/overfit.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../../static/js/data/normalize.js';
import { finishedMessage } from '../../static/js/train/start_point.js';

const rules = JSON.parse(await readFile(new URL('../../static/shared_rules.json', import.meta.url), 'utf8'));

test("a new run's config starts from the run defaults the server assumes for old runs", () => {
  for (const [key, value] of Object.entries(rules.run_defaults.values)) {
    // The task is the dataset's ('auto'); a config recorded without one is the shared default's.
    assert.equal(DEFAULT_RUN_CONFIG[key], key === 'task' ? 'auto' : value, key);
  }
});

test('the overfit cap is the shared one, and the page refuses one image more', () => {
  assert.equal(MAX_OVERFIT_IMAGES, rules.max_overfit_images);
  assert.throws(() => new OverfitSession({ dataset: 'shapes', images: rules.max_overfit_images + 1 }),
    new RegExp(`1 to ${rules.max_overfit_images} images`));
});

test('the ImageNet statistics are the shared ones', () => {
  assert.deepEqual([...IMAGENET_MEAN], rules.imagenet.mean);
  assert.deepEqual([...IMAGENET_STD], rules.imagenet.std);
});

test("the export page's reference format and default allowed loss are the shared ones", () => {
  assert.equal(shared.REFERENCE_FORMAT, rules.exports.reference_format);
  assert.equal(shared.DEFAULT_MAX_ACCURACY_DROP, rules.exports.default_max_accuracy_drop);
  assert.equal(shared.MIN_BOX_AGREEMENT, rules.exports.min_box_agreement);
  assert.equal(shared.MAX_POINT_SHIFT, rules.exports.max_point_shift);
});

test('a finished run is refused in the shared words, with its id in every place', () => {
  const message = finishedMessage('abc123');
  assert.equal(message, rules.messages.run_finished.replaceAll('{run_id}', 'abc123'));
  assert.match(message, /run abc123 is finished.*\/train\?from=abc123.*--from abc123 --epochs N/);
  assert.doesNotMatch(message, /\{run_id\}/);
});

test('the shared rules cannot be changed by a page at run time', () => {
  assert.throws(() => { shared.RUN_DEFAULTS.seed = 7; }, TypeError);
  assert.throws(() => { shared.IMAGENET_MEAN[0] = 0; }, TypeError);
});
