/** Depthwise conv gradients for tfjs's wasm backend (input and filter), any channel multiplier. */
import { aliasOf, backpropInputGeometry, releaseAlias, spreadGradient, wasmKernel } from './wasm_heap.js';

function depthwiseInfo(tf, xShape, filterShape, attrs) {
  const { strides, pad, dimRoundingMode, dilations } = attrs;
  return tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, dilations == null ? 1 : dilations, pad,
    dimRoundingMode, true);
}

export function depthwiseBackpropInput(tf, { inputs, backend, attrs }) {
  const { dy, filter } = inputs;
  const info = depthwiseInfo(tf, attrs.inputShape, filter.shape, attrs);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outChannels: CM, filterHeight: KH,
    filterWidth: KW } = info;
  const M = CM / C;
  const g = backpropInputGeometry(info);
  const src = g.spreadNeeded
    ? spreadGradient(backend, dy, info.strideHeight, info.strideWidth, g.top, g.left, g.Hp, g.Wp) : dy;
  // Each of the C*M gradient channels is correlated with its own filter tap set, rotated 180°.
  const flipped = backend.makeOutput([KH, KW, CM, 1], 'float32');
  const f = backend.typedArrayFromHeap(flipped);
  const w = backend.typedArrayFromHeap(filter);
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const from = ((KH - 1 - kh) * KW + (KW - 1 - kw)) * CM;
      f.set(w.subarray(from, from + CM), (kh * KW + kw) * CM);
    }
  }
  const perChannel = wasmKernel(tf, 'DepthwiseConv2dNative')({ inputs: { x: src, filter: flipped }, backend, attrs: {
    strides: 1, pad: 'valid', dilations: [info.dilationHeight, info.dilationWidth], dimRoundingMode: undefined } });
  backend.disposeData(flipped.dataId);
  if (src !== dy) backend.disposeData(src.dataId);
  if (M === 1) return perChannel;
  const out = wasmKernel(tf, 'Sum')({ inputs: { x: { dataId: perChannel.dataId, shape: [B, H, W, C, M],
    dtype: 'float32' } }, backend, attrs: { axis: 4, keepDims: false } });
  backend.disposeData(perChannel.dataId);
  return out;
}

/**
 * Copies one row of x into a phase-plane row: out[j] = x[j*sw + firstCol] for j < Wq (zeros outside x), each of the
 * C channels repeated M times so that the plane lines up with the C*M gradient channels.
 */
function gatherPlaneRow(out, o, xv, rowStart, W, C, M, Wq, sw, firstCol) {
  const CM = C * M;
  const jMin = Math.min(Wq, Math.max(0, Math.ceil(-firstCol / sw)));
  const jMax = Math.max(jMin, Math.min(Wq, Math.ceil((W - firstCol) / sw)));
  if (jMin > 0) out.fill(0, o, o + jMin * CM);   // only where there is padding (see gatherColumnsTransposed)
  o += jMin * CM;
  let s = rowStart + (jMin * sw + firstCol) * C;
  if (M === 1 && sw === 1) {
    const n = (jMax - jMin) * C;
    out.set(xv.subarray(s, s + n), o);
    o += n;
  } else if (M === 1) {
    const skip = (sw - 1) * C;
    for (let j = jMin; j < jMax; j++, s += skip) {
      for (let c = 0; c < C; c++) out[o++] = xv[s++];
    }
  } else {
    for (let j = jMin; j < jMax; j++, s += sw * C) {
      for (let c = 0; c < C; c++) {
        const v = xv[s + c];
        for (let m = 0; m < M; m++) out[o++] = v;
      }
    }
  }
  if (jMax < Wq) out.fill(0, o, o + (Wq - jMax) * CM);
}

/**
 * dW[kh, kw, c, m] = sum over b, oy, ox of x[b, oy*sh + kh*dh - pt, ox*sw + kw*dw - pl, c] * dy[b, oy, ox, c*M + m].
 * x is split into stride phases, zero-padded planes [B, Hq, Wq, C*M] in which every tap is one flat shift, and dy is
 * zero-padded to the same [B, Hq, Wq, C*M]; then each tap is a Multiply of two equally long flat windows followed by
 * an AvgPool over all pixels: both run in XNNPACK with SIMD, several times faster than the same sums in a JS loop.
 * (x must be finite: padding positions multiply x by zero, and Inf * 0 would put a NaN where cpu has none.)
 */
export function depthwiseBackpropFilter(tf, { inputs, backend, attrs }) {
  const { x, dy } = inputs;
  const info = depthwiseInfo(tf, x.shape, attrs.filterShape, attrs);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: CM,
    filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw, dilationHeight: dh,
    dilationWidth: dw } = info;
  const M = CM / C;
  const pt = info.padInfo.top, pl = info.padInfo.left;
  const Hq = OH + Math.floor((KH - 1) * dh / sh);
  const Wq = OW + Math.floor((KW - 1) * dw / sw);
  const planePixels = B * Hq * Wq, planeLen = planePixels * CM, rowLen = Wq * CM;
  const phaseIndex = new Map();
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const key = ((kh * dh) % sh) * sw + (kw * dw) % sw;
      if (!phaseIndex.has(key)) phaseIndex.set(key, phaseIndex.size);
    }
  }
  const planes = backend.makeOutput([phaseIndex.size * planeLen], 'float32');
  const padded = backend.makeOutput([planeLen], 'float32');
  const pv = backend.typedArrayFromHeap(planes);
  const xv = backend.typedArrayFromHeap(x);
  for (const [key, k] of phaseIndex) {
    const py = Math.floor(key / sw), px = key % sw;
    let o = k * planeLen;
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < Hq; i++, o += rowLen) {
        const iy = i * sh + py - pt;
        if (iy < 0 || iy >= H) pv.fill(0, o, o + rowLen);
        else gatherPlaneRow(pv, o, xv, (b * H + iy) * W * C, W, C, M, Wq, sw, px - pl);
      }
    }
  }
  const dv = backend.typedArrayFromHeap(padded);
  const dyv = backend.typedArrayFromHeap(dy);
  dv.fill(0);
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const s = (b * OH + oy) * OW * CM;
      dv.set(dyv.subarray(s, s + OW * CM), (b * Hq + oy) * rowLen);
    }
  }
  const multiply = wasmKernel(tf, 'Multiply'), avgPool = wasmKernel(tf, 'AvgPool');
  const sums = new Float64Array(KH * KW * CM);
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const k = phaseIndex.get(((kh * dh) % sh) * sw + (kw * dw) % sw);
      const shift = Math.floor(kh * dh / sh) * Wq + Math.floor(kw * dw / sw);
      // Pixels past the shifted window's end only meet dy's zero padding, so dropping them loses nothing.
      const count = planePixels - shift;
      const a = aliasOf(backend, planes, k * planeLen + shift * CM, [1, count, 1, CM]);
      const b = aliasOf(backend, padded, 0, [1, count, 1, CM]);
      const product = multiply({ inputs: { a, b }, backend });
      releaseAlias(backend, a);
      releaseAlias(backend, b);
      const mean = avgPool({ inputs: { x: product }, backend,
        attrs: { filterSize: [count, 1], strides: 1, pad: 'valid', dimRoundingMode: undefined } });
      backend.disposeData(product.dataId);
      const mv = backend.typedArrayFromHeap(mean);
      for (let j = 0, t = (kh * KW + kw) * CM; j < CM; j++) sums[t + j] = mv[j] * count;
      backend.disposeData(mean.dataId);
    }
  }
  backend.disposeData(planes.dataId);
  backend.disposeData(padded.dataId);
  const out = backend.makeOutput(attrs.filterShape.slice(), 'float32');
  backend.typedArrayFromHeap(out).set(sums);
  return out;
}
