extension Kernels {
    /// The unembedding tied to the embedding: `x·W_Eᵀ`, (m, d_model) → (m, V).
    /// There is no final norm, as in the notebook.
    /// Runs with `configuration` (threads, instruction set); the result does not depend on it.
    public static func unembed<T>(_ x: Tensor<T>, W_E: Tensor<T>, configuration: KernelConfiguration = .default) throws -> Tensor<T> {
        try configuration.applied {
            guard W_E.rank == 2 else {
                throw KernelError.invalidDimension(what: "W_E", detail: "rank is \(W_E.rank), expected 2 (vocab_size, d_model)")
            }
            let (V, d) = (W_E.shape[0], W_E.shape[1])
            guard x.rank == 2, x.shape[1] == d else {
                throw KernelError.shapeMismatch(what: "unembed input", expected: [x.shape.first ?? 0, d], found: x.shape)
            }
            let m = x.shape[0]
            var out = [T](repeating: 0, count: m * V)
            let unembedding = TransformerWeights<T>.transposed(W_E)
            x.withUnsafeBufferPointer { xb in unembedding.withUnsafeBufferPointer { ub in out.withUnsafeMutableBufferPointer { ob in
                guard let xp = xb.baseAddress, let up = ub.baseAddress, let op = ob.baseAddress else { return }
                Gemm.multiply(m: m, n: V, k: d, a: xp, lda: d, b: up, ldb: V, c: op, ldc: V)
            }}}
            return Tensor(uncheckedShape: [m, V], scalars: out)
        }
    }
}
