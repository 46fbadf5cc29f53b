/** Model size and cost: parameters, bytes per weight format, and FLOPs per image, computed from the layers. */

/**
 * A uint8-quantized weight tensor stores 1 byte per value plus its own `min` and `scale` (kept in the weights
 * manifest as two float32-sized numbers); that per-tensor cost is counted here so small models are not undersold.
 */
export const QUANTIZATION_OVERHEAD_BYTES_PER_TENSOR = 8;

const product = (values) => values.reduce((a, b) => a * b, 1);

/** Output positions of a layer per image (h*w for convs; the leading non-batch dims for dense). */
function outputPositions(layer) {
  const shape = layer.outputShape;
  return product(shape.slice(1, -1));
}

/**
 * Multiply-accumulates per image for the layers that do the arithmetic that matters; others (activations, adds,
 * pooling, bias adds) are left out as they are a rounding error next to the convolutions.
 */
function layerMacs(layer) {
  const className = layer.getClassName();
  if (className === 'Conv2D' || className === 'Dense') {
    return outputPositions(layer) * product(layer.kernel.shape);
  }
  if (className === 'DepthwiseConv2D') {
    return outputPositions(layer) * product(layer.depthwiseKernel.shape);
  }
  if (className === 'SeparableConv2D') {
    // The depthwise pass is evaluated at the output positions (its stride is the layer's), then the 1x1 pointwise.
    return outputPositions(layer) * (product(layer.depthwiseKernel.shape) + product(layer.pointwiseKernel.shape));
  }
  return 0;
}

function flattenLayers(model) {
  return model.layers.flatMap((layer) => (Array.isArray(layer.layers) ? flattenLayers(layer) : [layer]));
}

/**
 * {params, weightTensors, float32Bytes, float16Bytes, uint8Bytes, flopsPerImage, layers: [{name, className,
 * outputShape, params, flops}]}. One multiply-add counts as 2 FLOPs (the usual convention, so figures compare with
 * papers that quote FLOPs rather than MACs). Byte counts are the weight payload only, not the JSON topology.
 */
export function modelStats(model) {
  const layers = flattenLayers(model).map((layer) => ({
    name: layer.name,
    className: layer.getClassName(),
    outputShape: layer.outputShape,
    params: layer.countParams(),
    flops: 2 * layerMacs(layer),
  }));
  const params = model.countParams();
  const weightTensors = model.weights.length;
  return {
    params,
    weightTensors,
    float32Bytes: params * 4,
    float16Bytes: params * 2,
    uint8Bytes: params + weightTensors * QUANTIZATION_OVERHEAD_BYTES_PER_TENSOR,
    flopsPerImage: layers.reduce((sum, layer) => sum + layer.flops, 0),
    layers,
  };
}
