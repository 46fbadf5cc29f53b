// static/train_options.json defines the train page's options once (the CLI makes its flags from it): it must say what
// the page's code says. The form side is held to templates/train.html by tests/e2e/test_cli.py.
import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { DEFAULT_RUN_CONFIG } from '../../static/js/train/run_config.js';
import { AUTO, AUTO_KEYS, SMALL_SET_AUGMENT } from '../../static/js/train/defaults.js';
import { BACKBONES } from '../../static/js/model/backbone.js';

const definition = JSON.parse(await readFile(new URL('../../static/train_options.json', import.meta.url), 'utf8'));
const option = (field) => definition.options.find((o) => o.field === field);
// Form fields whose run-config key differs: the augmentation mode is config.augment ('auto', or the custom fields).
const CONFIG_KEY = { augmentMode: 'augment' };

function configDefault(field) {
  const [group, key] = (CONFIG_KEY[field] ?? field).split('.');
  if (group === 'augment' && key) return { crop: false, flip: false, brightness: 0 }[key];  // the custom fields start off
  const value = key ? DEFAULT_RUN_CONFIG[group][key] : DEFAULT_RUN_CONFIG[group];
  return Array.isArray(value) ? value.join(',') : value;
}

test('every option default is the run config default', () => {
  for (const o of definition.options) {
    assert.deepEqual(o.default, configDefault(o.field), `${o.field}: train_options.json says ${o.default}`);
  }
});

test("the options chosen from the dataset are exactly the run config's auto keys", () => {
  const fromDataset = definition.options.filter((o) => o.from_dataset).map((o) => CONFIG_KEY[o.field] ?? o.field);
  assert.deepEqual(fromDataset.sort(), [...AUTO_KEYS].sort());
  for (const o of definition.options.filter((x) => x.from_dataset)) assert.equal(o.default, AUTO);
});

test('--augment on is what auto picks for a small set', () => {
  const preset = option('augmentMode').presets.on;
  assert.deepEqual({ crop: preset['augment.crop'], flip: preset['augment.flip'], brightness: preset['augment.brightness'] },
    { ...SMALL_SET_AUGMENT });
});

test('the backbone choices are the backbones the page offers', () => {
  assert.deepEqual([...option('backbone').choices].sort(), Object.keys(BACKBONES).sort());
});
