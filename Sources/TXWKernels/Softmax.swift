import RealModule
extension Kernels {
    /// Softmax over the last axis with temperature `t` (any rank ≥ 1).
    ///
    /// For t > 0, as the notebook: `y = x / t`, `e = exp(y - max(y))`,
    /// `e / sum(e)`. For t = 0, as the notebook: uniform over the positions
    /// equal to the maximum. When `x / t` overflows to +inf (t tiny), the t = 0
    /// result is returned, the limit the notebook's NaNs stand for (a named
    /// deviation, Spec/kernels.md).
    public static func softmax<T>(_ x: Tensor<T>, temperature t: Double = 1) throws -> Tensor<T> {
        let (rows, cols) = try checkRows(x, what: "softmax input")
        try checkTemperature(t)
        return transform(x) { src, dst in
            for r in 0..<rows {
                softmaxRow(count: cols, x: src + r * cols, temperature: T(t), out: dst + r * cols)
            }
        }
    }

    /// Unchecked softmax of one row of `count ≥ 1` scalars; `out` may alias `x`.
    @inlinable
    static func softmaxRow<T: KernelScalar>(count: Int, x: UnsafePointer<T>, temperature t: T, out: UnsafeMutablePointer<T>) {
        if t != 0 {
            var top = -T.infinity
            for i in 0..<count {
                let y = x[i] / t
                out[i] = y
                if y > top { top = y }
            }
            if top != .infinity {
                var sum: T = 0
                for i in 0..<count {
                    let e = T.exp(out[i] - top)
                    out[i] = e
                    sum += e
                }
                for i in 0..<count { out[i] /= sum }
                return
            }
        }
        // t == 0, or x / t overflowed: uniform over the maxima of x.
        var top = -T.infinity
        for i in 0..<count where x[i] > top { top = x[i] }
        var ties: T = 0
        for i in 0..<count where x[i] == top { ties += 1 }
        for i in 0..<count { out[i] = x[i] == top ? 1 / ties : 0 }
    }
}
