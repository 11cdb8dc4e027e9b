import CTXWKernels

extension Kernels {
    /// rmsnorm over the last axis, no gain: `x / sqrt(mean(x²) + epsilon)`.
    public static func rmsnorm<T>(_ x: Tensor<T>, epsilon: Double = KernelConstants.notebook.rmsnormEpsilon) throws -> Tensor<T> {
        let (rows, cols) = try checkRows(x, what: "rmsnorm input")
        try KernelConstants(rmsnormEpsilon: epsilon, positionalBase: 2, maskValue: 0).validate()
        return transform(x) { src, dst in
            rmsnormRows(rows: rows, cols: cols, x: src, epsilon: T(epsilon), out: dst)
        }
    }

    /// Unchecked rmsnorm of `rows` rows of `cols` scalars; `out` may alias `x`.
    /// The sum of squares is 16 interleaved partial sums combined pairwise
    /// (`txw_rmsnorm_f32`/`_f64`; the generic path sums in the same order).
    @inlinable
    static func rmsnormRows<T: KernelScalar>(
        rows: Int, cols: Int, x: UnsafePointer<T>, epsilon: T, out: UnsafeMutablePointer<T>
    ) {
        if T.self == Float.self {
            txw_rmsnorm_f32(rows, cols, UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), Float(epsilon),
                            UnsafeMutableRawPointer(out).assumingMemoryBound(to: Float.self))
            return
        }
        if T.self == Double.self {
            txw_rmsnorm_f64(rows, cols, UnsafeRawPointer(x).assumingMemoryBound(to: Double.self), Double(epsilon),
                            UnsafeMutableRawPointer(out).assumingMemoryBound(to: Double.self))
            return
        }
        let n = T(cols)
        for r in 0..<rows {
            let src = x + r * cols
            let dst = out + r * cols
            var part = [T](repeating: 0, count: 16)
            for c in 0..<cols { part[c % 16] += src[c] * src[c] }
            while part.count > 1 { part = stride(from: 0, to: part.count, by: 2).map { part[$0] + part[$0 + 1] } }
            let denominator = (part[0] / n + epsilon).squareRoot()
            for c in 0..<cols { dst[c] = src[c] / denominator }
        }
    }
}
