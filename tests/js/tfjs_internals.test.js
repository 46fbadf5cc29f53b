// On a tfjs release other than the one our internals-based code was written for, the stock kernels and the stock
// Adam update run, and the console says once what was skipped and why.
import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as wasm from '@tensorflow/tfjs-backend-wasm';

const realTf = globalThis.tf;
const NEXT_RELEASE = '4.23.0';
// The same tfjs, claiming another version: what a page would be after an upgrade of the npm package.
const upgradedTf = { ...realTf, version: { ...realTf.version, tfjs: NEXT_RELEASE } };
globalThis.tf = upgradedTf;  // static/js/tf.js reads it once, at the first import below

const warnings = [];
const consoleWarn = console.warn;
console.warn = (...args) => warnings.push(args.join(' '));
const { TFJS_INTERNALS_VERSION } = await import('../../static/js/train/tfjs_internals.js');
const { configureWasm, registerWasmTrainingKernels } = await import('../../static/js/train/wasm_kernels.js');
const { fuseAdamOnWasm } = await import('../../static/js/train/fused_adam.js');

const OUR_KERNEL = Symbol.for('browsertrain.wasmTrainingKernel');
const warningsAbout = (words) => warnings.filter((text) => text.includes(words));

test('the version the internals were written for is the one package.json pins', async () => {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
  assert.equal(TFJS_INTERNALS_VERSION, pkg.dependencies['@tensorflow/tfjs']);
  assert.equal(realTf.version.tfjs, TFJS_INTERNALS_VERSION);
});

test('on another tfjs version the wasm backend starts with its stock kernels, and one warning says why', async () => {
  const status = await configureWasm(upgradedTf, { wasm });
  assert.equal(status.ok, true, 'the backend itself still starts');
  assert.deepEqual(registerWasmTrainingKernels(upgradedTf), []);
  assert.equal(realTf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined, 'no training kernel was added');
  assert.equal(realTf.getKernel('Conv2DBackpropInput', 'wasm').kernelFunc[OUR_KERNEL], undefined,
    'the stock Conv2DBackpropInput stays');
  const [warning, ...more] = warningsAbout('wasm training kernels');
  assert.equal(more.length, 0, 'one warning, however often it is asked');
  assert.match(warning, new RegExp(`tfjs ${TFJS_INTERNALS_VERSION}.*tfjs ${NEXT_RELEASE.replaceAll('.', '\\.')}`));
  assert.match(warning, /stock wasm kernels/);
});

test('on another tfjs version Adam keeps its stock update on wasm, and one warning says why', async () => {
  await realTf.setBackend('wasm');
  const adam = realTf.train.adam(0.01);
  const stockUpdate = adam.applyGradients;
  assert.equal(fuseAdamOnWasm(adam), adam);
  assert.equal(adam.applyGradients, stockUpdate, 'the stock update runs');
  fuseAdamOnWasm(realTf.train.adam(0.01)).dispose();
  const [warning, ...more] = warningsAbout('fused Adam');
  assert.equal(more.length, 0, 'one warning, however often it is asked');
  assert.match(warning, /stock Adam update/);
  adam.dispose();
});

test('on the version they were written for, the same calls register the kernels and fuse Adam, silently', () => {
  const before = warnings.length;
  const registered = registerWasmTrainingKernels(realTf);
  assert.ok(registered.includes('Conv2DBackpropFilter'), `registered: ${registered}`);
  upgradedTf.version.tfjs = TFJS_INTERNALS_VERSION;  // the namespace fused_adam.js got from static/js/tf.js
  const adam = realTf.train.adam(0.01);
  const stockUpdate = adam.applyGradients;
  fuseAdamOnWasm(adam);
  assert.notEqual(adam.applyGradients, stockUpdate, 'the fused update is installed');
  assert.equal(warnings.length, before);
  adam.dispose();
  console.warn = consoleWarn;
});
