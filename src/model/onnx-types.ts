/** ONNX TensorProto element types (onnx/onnx.proto) the exporter writes and the runtime reads back. */
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
