import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel } from '../../static/js/model/builder.js';
import { QUANTIZATION_OVERHEAD_BYTES_PER_TENSOR, modelStats } from '../../static/js/model/stats.js';

test('a tiny model costs what a hand computation says (a multiply-add = 2 FLOPs)', () => {
  const stats = modelStats(buildModel({ inputSize: 8, channels: 1, width: 2, stages: [4], blocksPerStage: 0, numClasses: 2 }));
  // stem: 4x4 outputs * 3*3*1 * 2 filters = 288 MACs; separable down: 2x2 outputs * (3*3*2 + 2*4) = 104 MACs;
  // head: 4*2 = 8 MACs. 400 MACs = 800 FLOPs.
  assert.equal(stats.flopsPerImage, 800);
  assert.deepEqual(stats.layers.filter((l) => l.flops > 0).map((l) => [l.name, l.flops]), [
    ['stem', 576], ['stage1_down', 208], ['head', 16],
  ]);
  // stem 9*2+2 = 20, down 9*2 + 2*4 + 4 = 30, head 4*2+2 = 10
  assert.equal(stats.params, 60);
});

test('the reference CNN: params, bytes per format, FLOPs', () => {
  const stats = modelStats(buildModel());
  assert.equal(stats.params, 37466);
  assert.equal(stats.float32Bytes, 37466 * 4);
  assert.equal(stats.float16Bytes, 37466 * 2);
  assert.equal(stats.weightTensors, 22); // 7 convs + head, each with bias; separable convs have two kernels
  assert.equal(stats.uint8Bytes, 37466 + 22 * QUANTIZATION_OVERHEAD_BYTES_PER_TENSOR);
  // MACs: stem 32*32*27*16 = 442,368; stage1 16*16*(144+512) + 16*16*(288+1024); stage2 8*8*(288+2048) +
  // 8*8*(576+4096); stage3 4*4*(576+8192) + 4*4*(1152+16384); head 1,280 → 1,816,832 MACs.
  assert.equal(stats.flopsPerImage, 2 * 1816832);
});
