extension Kernels {
    /// Sets every future position (`j > i` in the last two axes) of raw
    /// attention scores (…, m, m) to `maskValue` (notebook: -1e9).
    public static func applyCausalMask<T>(_ scores: Tensor<T>, maskValue: Double = KernelConstants.notebook.maskValue) throws -> Tensor<T> {
        guard scores.rank >= 2, scores.shape[scores.rank - 1] == scores.shape[scores.rank - 2] else {
            throw KernelError.invalidDimension(
                what: "attention scores", detail: "shape \(KernelError.shape(scores.shape)) must end in two equal axes (m, m)")
        }
        try KernelConstants(rmsnormEpsilon: 0, positionalBase: 2, maskValue: maskValue).validate()
        let m = scores.shape[scores.rank - 1]
        let mask = T(maskValue)
        return transform(scores) { _, dst in
            for matrix in 0..<(m == 0 ? 0 : scores.count / (m * m)) {
                let base = dst + matrix * m * m
                for i in 0..<m {
                    for j in (i + 1)..<m { base[i * m + j] = mask }
                }
            }
        }
    }
}
