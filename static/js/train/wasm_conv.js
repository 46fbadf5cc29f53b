/** Conv2D gradients for tfjs's wasm backend: the input gradient (stride 1 and strided) and the filter gradient. */
import { backpropInputGeometry, spreadGradient, wasmKernel } from './wasm_heap.js';
import { takeUnusedInputGradient } from './input_gradient.js';

export function conv2DBackpropInput(tf, stock, args) {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  if (takeUnusedInputGradient(inputShape)) {
    // The tape drops this gradient (input_gradient.js): zeros keep the answer defined without computing it.
    const zeros = backend.makeOutput(inputShape.slice(), 'float32');
    backend.typedArrayFromHeap(zeros).fill(0);
    return zeros;
  }
  if (tf.backend_util.convertConv2DDataFormat(dataFormat) !== 'channelsLast') return stock(args);
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, strides, 1, pad, dimRoundingMode, false,
    'channelsLast');
  if (info.strideHeight * info.strideWidth > 1) return stridedBackpropInput(tf, backend, dy, filter, info);
  const { filterHeight: KH, filterWidth: KW, inChannels: CI, outChannels: CO } = info;
  const g = backpropInputGeometry(info);
  const src = g.spreadNeeded
    ? spreadGradient(backend, dy, info.strideHeight, info.strideWidth, g.top, g.left, g.Hp, g.Wp) : dy;
  // Rotate the filter 180° and swap its in/out channels: [KH, KW, CI, CO] -> [KH, KW, CO, CI].
  const rotated = backend.makeOutput([KH, KW, CO, CI], 'float32');
  const r = backend.typedArrayFromHeap(rotated);
  const w = backend.typedArrayFromHeap(filter);
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const wBase = ((KH - 1 - kh) * KW + (KW - 1 - kw)) * CI * CO;
      let o = (kh * KW + kw) * CO * CI;
      for (let co = 0; co < CO; co++) {
        for (let ci = 0; ci < CI; ci++) r[o++] = w[wBase + ci * CO + co];
      }
    }
  }
  const out = wasmKernel(tf, 'Conv2D')({ inputs: { x: src, filter: rotated }, backend,
    attrs: { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined } });
  backend.disposeData(rotated.dataId);
  if (src !== dy) backend.disposeData(src.dataId);
  return out;
}

/**
 * The input gradient of a strided conv as a product then a scatter-add (col2im): cols = dy [N, CO] @ Wᵀ [CO, KH·KW·CI]
 * gives each dy pixel's contribution to its KH×KW input taps, which are then summed into dx. This takes 1/(sh·sw) of
 * the multiply-adds of the spread-and-correlate path, whose correlation mostly multiplies the zeros the spread put
 * between dy's pixels (the stem's 3×3 stride-2 conv spent a third of a training step there).
 */
function stridedBackpropInput(tf, backend, dy, filter, info) {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO,
    filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top, pl = info.padInfo.left;
  const R = KH * KW * CI;
  // The filter [KH, KW, CI, CO] is the matrix [R, CO]; BatchMatMul reaches XNNPACK only untransposed, so transpose here.
  const filterT = backend.makeOutput([1, CO, R], 'float32');
  const t = backend.typedArrayFromHeap(filterT);
  const w = backend.typedArrayFromHeap(filter);
  for (let r = 0; r < R; r++) {
    for (let co = 0; co < CO; co++) t[co * R + r] = w[r * CO + co];
  }
  const dyMatrix = { dataId: dy.dataId, shape: [1, B * OH * OW, CO], dtype: dy.dtype };
  const cols = wasmKernel(tf, 'BatchMatMul')({ inputs: { a: dyMatrix, b: filterT }, backend,
    attrs: { transposeA: false, transposeB: false } });
  backend.disposeData(filterT.dataId);
  const out = backend.makeOutput([B, H, W, CI], 'float32');
  const dx = backend.typedArrayFromHeap(out);   // read after the last allocation: a heap growth detaches old views
  const cv = backend.typedArrayFromHeap(cols);
  dx.fill(0);
  const rowTaps = KW * CI;
  let c = 0;
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        for (let kh = 0; kh < KH; kh++) {
          const iy = oy * sh + kh - pt;
          if (iy < 0 || iy >= H) {
            c += rowTaps;
            continue;
          }
          for (let kw = 0; kw < KW; kw++) {
            const ix = ox * sw + kw - pl;
            if (ix < 0 || ix >= W) {
              c += CI;
              continue;
            }
            for (let ci = 0, d = ((b * H + iy) * W + ix) * CI; ci < CI; ci++) dx[d + ci] += cv[c++];
          }
        }
      }
    }
  }
  backend.disposeData(cols.dataId);
  return out;
}

/**
 * Writes the transposed im2col of x: cols[(kh*KW + kw)*CI + ci][n] = x at output pixel n's tap (kh, kw), channel ci
 * (zero where the tap falls in the padding). Rows are written contiguously; a pointwise conv is a plain transpose.
 */
function gatherColumnsTransposed(cols, xv, info) {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW,
    filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw, dilationHeight: dh,
    dilationWidth: dw } = info;
  const pt = info.padInfo.top, pl = info.padInfo.left;
  const N = B * OH * OW;
  if (KH === 1 && KW === 1 && sh === 1 && sw === 1 && pt === 0 && pl === 0 && OH === H && OW === W) {
    for (let ci = 0, o = 0; ci < CI; ci++) {
      for (let n = 0, src = ci; n < N; n++, src += CI) cols[o++] = xv[src];
    }
    return;
  }
  const step = sw * CI;
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const shift = kw * dw - pl;
      const oxMin = Math.min(OW, Math.max(0, Math.ceil(-shift / sw)));
      const oxMax = Math.max(oxMin, Math.min(OW, Math.ceil((W - shift) / sw)));
      for (let ci = 0; ci < CI; ci++) {
        let o = ((kh * KW + kw) * CI + ci) * N;
        for (let b = 0; b < B; b++) {
          for (let oy = 0; oy < OH; oy++, o += OW) {
            const iy = oy * sh + kh * dh - pt;
            if (iy < 0 || iy >= H) {
              cols.fill(0, o, o + OW);
              continue;
            }
            // fill() only where there is padding: a call per row, even an empty one, cost more than the copy itself.
            if (oxMin > 0) cols.fill(0, o, o + oxMin);
            let src = ((b * H + iy) * W + oxMin * sw + shift) * CI + ci;
            for (let ox = oxMin; ox < oxMax; ox++, src += step) cols[o + ox] = xv[src];
            if (oxMax < OW) cols.fill(0, o + oxMax, o + OW);
          }
        }
      }
    }
  }
}

export function conv2DBackpropFilter(tf, { inputs, backend, attrs }) {
  const { x, dy } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (tf.backend_util.convertConv2DDataFormat(dataFormat) !== 'channelsLast') {
    const transpose = wasmKernel(tf, 'Transpose');
    const xT = transpose({ inputs: { x }, backend, attrs: { perm: [0, 2, 3, 1] } });
    const dyT = transpose({ inputs: { x: dy }, backend, attrs: { perm: [0, 2, 3, 1] } });
    const out = conv2DBackpropFilter(tf, { inputs: { x: xT, dy: dyT }, backend,
      attrs: { strides, pad, dataFormat: 'NHWC', dimRoundingMode, filterShape } });
    backend.disposeData(xT.dataId);
    backend.disposeData(dyT.dataId);
    return out;
  }
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode, false,
    'channelsLast');
  const N = info.batchSize * info.outHeight * info.outWidth;
  const R = info.filterHeight * info.filterWidth * info.inChannels;
  // dW = colsT [R, N] @ dy [N, CO]. The wasm BatchMatMul reaches XNNPACK only untransposed (its transposeA path is a
  // scalar loop, several times slower), so the transpose is folded into the gather. XNNPACK repacks dy (~2.5 ns per
  // value) because it treats the right operand as weights; packing the smaller operand instead would save little.
  const colsT = backend.makeOutput([1, R, N], 'float32');
  gatherColumnsTransposed(backend.typedArrayFromHeap(colsT), backend.typedArrayFromHeap(x), info);
  const dyMatrix = { dataId: dy.dataId, shape: [1, N, info.outChannels], dtype: dy.dtype };
  const out = wasmKernel(tf, 'BatchMatMul')({ inputs: { a: colsT, b: dyMatrix }, backend,
    attrs: { transposeA: false, transposeB: false } });
  backend.disposeData(colsT.dataId);
  out.shape = filterShape.slice();
  return out;
}
