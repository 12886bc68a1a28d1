/** ONNX enum values (onnx/onnx.proto) used by the exporter; the tensor types are shared with the runtime. */
export { ELEMENT_BYTES, TensorType } from '../../../src/model/onnx-types.ts';
export type { TensorTypeName } from '../../../src/model/onnx-types.ts';

export const AttributeType = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

/** Opset 17 gives LayerNormalization; IR 8 is what that opset requires. */
export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
export const MS_DOMAIN = 'com.microsoft';
