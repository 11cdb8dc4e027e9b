import CTXWKernels
import RealModule

// GELU, the tanh approximation, in one place: the C kernels' (txw_gelu_*,
// txw_gelu_backward_*: tanh from their vectorised exp) for Float and Double,
// and one Swift definition (tanh from the C library) for the public
// `Kernels.gelu`, the gradients' recomputed activations and any other scalar
// type. The two differ by an ulp or so in about one value in ten.

extension Kernels {
    /// The tanh approximation of GELU, elementwise:
    /// `0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³)))`, tanh from the C
    /// math library (the forward pass's GELU uses the C kernels' tanh; both
    /// agree with the notebook within Spec/kernels.md's tolerances).
    public static func gelu<T>(_ x: Tensor<T>) -> Tensor<T> {
        transform(x) { src, dst in
            for i in 0..<x.count { dst[i] = geluScalar(src[i]) }
        }
    }

    /// `tanh(c·(x + 0.044715·x³))`, c = √(2/π), tanh from the C math library.
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
}
