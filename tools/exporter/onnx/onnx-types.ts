/** ONNX enum values (onnx/onnx.proto) used by the exporter. */
export const TensorType = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
} as const;
export type TensorTypeName = keyof typeof TensorType;

export const ELEMENT_BYTES: Record<TensorTypeName, number> = {
  float32: 4,
  uint8: 1,
  int8: 1,
  int32: 4,
  int64: 8,
  bool: 1,
  float16: 2,
};

export const AttributeType = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

/** Opset 17 gives LayerNormalization; IR 8 is what that opset requires. */
export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
export const MS_DOMAIN = 'com.microsoft';
