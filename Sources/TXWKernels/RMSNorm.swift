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
    @inlinable
    static func rmsnormRows<T: KernelScalar>(
        rows: Int, cols: Int, x: UnsafePointer<T>, epsilon: T, out: UnsafeMutablePointer<T>
    ) {
        let n = T(cols)
        for r in 0..<rows {
            let src = x + r * cols
            let dst = out + r * cols
            var sumSquares: T = 0
            for c in 0..<cols { sumSquares += src[c] * src[c] }
            let denominator = (sumSquares / n + epsilon).squareRoot()
            for c in 0..<cols { dst[c] = src[c] / denominator }
        }
    }
}
