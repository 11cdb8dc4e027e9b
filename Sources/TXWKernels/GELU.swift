import CTXWKernels
import RealModule

// GELU, the tanh approximation, in one place per precision: for Float and
// Double the C kernels' (txw_gelu_*, txw_gelu_backward_*, tanh from their
// vectorised exp), which the forward pass, the public `Kernels.gelu` and the
// backward pass all call, so training differentiates exactly the function the
// forward pass computes; the Swift definition below (tanh from the C math
// library) only for another `KernelScalar` type, which has no C kernel.

extension Kernels {
    /// The tanh approximation of GELU, elementwise:
    /// `0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³)))`, the forward pass's
    /// own (the C kernel for `Float` and `Double`), within Spec/kernels.md's
    /// tolerances of the notebook.
    public static func gelu<T>(_ x: Tensor<T>) -> Tensor<T> {
        // `transform` hands over a copy of x to work on in place.
        transform(x) { _, dst in Gemm.geluInPlace(dst, count: x.count) }
    }

    /// `tanh(c·(x + 0.044715·x³))`, c = √(2/π), tanh from the C math library
    /// (types without a C kernel only).
    @inlinable
    static func geluTanh<T: KernelScalar>(_ v: T) -> T {
        let c = T((2 / Double.pi).squareRoot())
        return T.tanh(c * (v + T(0.044715) * (v * v * v)))
    }

    /// GELU of one value: `0.5·x·(1 + tanh(…))`.
    @inlinable
    static func geluScalar<T: KernelScalar>(_ v: T) -> T {
        T(0.5) * v * (1 + geluTanh(v))
    }

    /// gelu′(x) = 0.5(1 + t) + 0.5x(1 − t²)·c(1 + 3·0.044715x²), t = `geluTanh(x)`.
    @inlinable
    static func geluDerivative<T: KernelScalar>(_ v: T) -> T {
        let c = T((2 / Double.pi).squareRoot()), a = T(0.044715)
        let t = geluTanh(v)
        return T(0.5) * (1 + t) + T(0.5) * v * (1 - t * t) * c * (1 + 3 * a * v * v)
    }
}

extension Gemm {
    /// GELU in place, the forward pass's: the C kernel for Float and Double.
    @usableFromInline
    static func geluInPlace<T: KernelScalar>(_ x: UnsafeMutablePointer<T>, count: Int) {
        if T.self == Float.self {
            txw_gelu_f32(UnsafeMutableRawPointer(x).assumingMemoryBound(to: Float.self), count)
        } else if T.self == Double.self {
            txw_gelu_f64(UnsafeMutableRawPointer(x).assumingMemoryBound(to: Double.self), count)
        } else {
            for i in 0..<count { x[i] = Kernels.geluScalar(x[i]) }
        }
    }

    /// `act[i] = gelu(x[i])` and `x[i] = gelu′(x[i])` for `count` values
    /// (`txw_gelu_recording_*`): the bits of `geluInPlace` and of the factor
    /// `Backward.gelu` multiplies by.
    static func geluRecording<T: KernelScalar>(_ x: UnsafeMutablePointer<T>, activation act: UnsafeMutablePointer<T>, count: Int) {
        if T.self == Float.self {
            txw_gelu_recording_f32(UnsafeMutableRawPointer(x).assumingMemoryBound(to: Float.self),
                                   UnsafeMutableRawPointer(act).assumingMemoryBound(to: Float.self), count)
        } else if T.self == Double.self {
            txw_gelu_recording_f64(UnsafeMutableRawPointer(x).assumingMemoryBound(to: Double.self),
                                   UnsafeMutableRawPointer(act).assumingMemoryBound(to: Double.self), count)
        } else {
            for i in 0..<count {
                act[i] = Kernels.geluScalar(x[i])
                x[i] = Kernels.geluDerivative(x[i])
            }
        }
    }
}
