// The op codes of the addon's binary() and unary() kernels (native/blas/src/addon.c), by tfjs kernel name.
export const BINARY_OPS = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, SquaredDifference: 4, Maximum: 5, Minimum: 6 } as const;
export const UNARY_OPS = {
  Relu: 0,
  Step: 1,
  Exp: 2,
  Tanh: 3,
  Sqrt: 4,
  Square: 5,
  Neg: 6,
  Abs: 7,
  Log: 8,
  Sigmoid: 9,
  Reciprocal: 10,
  Rsqrt: 11,
} as const;
