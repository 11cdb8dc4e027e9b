extension Kernels {
    /// The two-layer MLP: `gelu(x·W_1 + b_1)·W_2 + b_2` with `x` (m, d_model),
    /// `W_1` (d_model, d_mlp), `b_1` (d_mlp), `W_2` (d_mlp, d_model), `b_2` (d_model).
    /// Runs with `configuration` (threads, instruction set); the result does not depend on it.
    public static func mlp<T>(
        _ x: Tensor<T>, W_1: Tensor<T>, b_1: Tensor<T>, W_2: Tensor<T>, b_2: Tensor<T>, configuration: KernelConfiguration = .default
    ) throws -> Tensor<T> {
        try configuration.applied {
            guard W_1.rank == 2 else {
                throw KernelError.invalidDimension(what: "W_1", detail: "rank is \(W_1.rank), expected 2 (d_model, d_mlp)")
            }
            let (dModel, dMLP) = (W_1.shape[0], W_1.shape[1])
            guard dModel >= 1, dMLP >= 1 else {
                throw KernelError.invalidDimension(what: "W_1", detail: "shape \(KernelError.shape(W_1.shape)) has an empty axis")
            }
            guard x.rank == 2, x.shape[1] == dModel else {
                throw KernelError.shapeMismatch(what: "mlp input", expected: [x.shape.first ?? 0, dModel], found: x.shape)
            }
            for (name, t, shape) in [("b_1", b_1, [dMLP]), ("W_2", W_2, [dMLP, dModel]), ("b_2", b_2, [dModel])]
            where t.shape != shape {
                throw KernelError.shapeMismatch(what: name, expected: shape, found: t.shape)
            }
            let m = x.shape[0]
            return transform(x) { src, dst in
                W_1.withUnsafeBufferPointer { w1 in b_1.withUnsafeBufferPointer { b1 in
                W_2.withUnsafeBufferPointer { w2 in b_2.withUnsafeBufferPointer { b2 in
                    mlpRaw(m: m, dModel: dModel, dMLP: dMLP, x: src, W_1: w1.baseAddress!, b_1: b1.baseAddress!,
                           W_2: w2.baseAddress!, b_2: b2.baseAddress!, out: dst)
                }}}}
            }
        }
    }

    /// Unchecked MLP for m, d_model, d_mlp ≥ 1; `out` may alias `x`.
    @usableFromInline
    static func mlpRaw<T: KernelScalar>(
        m: Int, dModel: Int, dMLP: Int, x: UnsafePointer<T>,
        W_1: UnsafePointer<T>, b_1: UnsafePointer<T>, W_2: UnsafePointer<T>, b_2: UnsafePointer<T>,
        out: UnsafeMutablePointer<T>
    ) {
        var hidden = [T](repeating: 0, count: m * dMLP)
        hidden.withUnsafeMutableBufferPointer { hb in
            let h = hb.baseAddress!
            Gemm.multiply(m: m, n: dMLP, k: dModel, a: x, lda: dModel, b: W_1, ldb: dMLP, c: h, ldc: dMLP)
            for i in 0..<m {
                let row = h + i * dMLP
                for j in 0..<dMLP { row[j] += b_1[j] }
            }
            Gemm.geluInPlace(h, count: m * dMLP)
            Gemm.multiply(m: m, n: dModel, k: dMLP, a: h, lda: dMLP, b: W_2, ldb: dModel, c: out, ldc: dModel)
            for i in 0..<m {
                let row = out + i * dModel
                for j in 0..<dModel { row[j] += b_2[j] }
            }
        }
    }
}
