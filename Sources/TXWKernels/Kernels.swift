/// The notebook's kernels on row-major tensors, in `Float` or `Double`.
///
/// Each public function checks its arguments and throws `KernelError` on bad
/// input; the work is then done by an internal, unchecked routine on buffer
/// pointers, which the forward pass calls directly. Spec/kernels.md gives the
/// exact math of each function and where it deliberately departs from the
/// notebook.
public enum Kernels {
    /// Rejects a NaN or negative temperature.
    static func checkTemperature(_ t: Double) throws {
        guard t.isFinite, t >= 0 else {
            throw KernelError.invalidArgument(name: "temperature", value: "\(t)", requirement: "must be finite and ≥ 0")
        }
    }

    /// Rejects a tensor whose rank is below `minimum` or whose last axis is empty.
    static func checkRows<T>(_ x: Tensor<T>, what: String, minimumRank: Int = 1) throws -> (rows: Int, cols: Int) {
        guard x.rank >= minimumRank, let cols = x.shape.last, cols > 0 else {
            throw KernelError.invalidDimension(
                what: what, detail: "shape \(KernelError.shape(x.shape)) needs rank ≥ \(minimumRank) and a non-empty last axis")
        }
        return (x.count / cols, cols)
    }
}

extension Kernels {
    /// A tensor of `x`'s shape whose scalars `body` writes from `x`'s; `body`
    /// is not called for an empty tensor.
    static func transform<T>(
        _ x: Tensor<T>, _ body: (UnsafePointer<T>, UnsafeMutablePointer<T>) -> Void
    ) -> Tensor<T> {
        var out = x
        x.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                body(s, d)
            }
        }
        return out
    }
}
