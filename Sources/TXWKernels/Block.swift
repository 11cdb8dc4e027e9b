extension Kernels {
    /// One pre-norm block: `r = x + attention(rmsnorm(x))`, then `r + mlp(rmsnorm(r))`.
    /// Runs with `configuration` (threads, instruction set); the result does not depend on it.
    public static func block<T>(
        _ x: Tensor<T>, weights: BlockWeights<T>, constants: KernelConstants = .notebook, configuration: KernelConfiguration = .default
    ) throws -> Tensor<T> {
        try configuration.applied {
            try constants.validate()
            let (dModel, dHead, nHead, dMLP) = try weights.inferredShape()
            guard x.rank == 2, x.shape[1] == dModel else {
                throw KernelError.shapeMismatch(what: "block input", expected: [x.shape.first ?? 0, dModel], found: x.shape)
            }
            let h = Hyperparameters(vocabSize: 1, dModel: dModel, nHead: nHead, dHead: dHead, dMLP: dMLP, nBlock: 1, constants: constants)
            try h.validate()
            try weights.validate(against: h)
            let m = x.shape[0]
            return transform(x) { _, dst in
                blockRaw(h, m: m, weights: weights, x: dst)
            }
        }
    }

    /// Unchecked block on `x` (m, d_model) in place, for m ≥ 1 and validated weights.
    @usableFromInline
    static func blockRaw<T: KernelScalar>(
        _ h: Hyperparameters, m: Int, weights: BlockWeights<T>, x: UnsafeMutablePointer<T>
    ) {
        let d = h.dModel
        let epsilon = T(h.constants.rmsnormEpsilon)
        var scratch = [T](repeating: 0, count: m * d)
        scratch.withUnsafeMutableBufferPointer { sb in
            let s = sb.baseAddress!
            rmsnormRows(rows: m, cols: d, x: x, epsilon: epsilon, out: s)
            weights.W_Q.withUnsafeBufferPointer { q in weights.W_K.withUnsafeBufferPointer { k in
            weights.W_V.withUnsafeBufferPointer { v in weights.W_O.withUnsafeBufferPointer { o in
                attentionRaw(
                    AttentionShape(m: m, dModel: d, dHead: h.dHead, nHead: h.nHead), x: s,
                    W_Q: q.baseAddress!, W_K: k.baseAddress!, W_V: v.baseAddress!, W_O: o.baseAddress!,
                    mask: T(h.constants.maskValue), out: s)
            }}}}
            for i in 0..<(m * d) { x[i] = x[i] + s[i] }
            rmsnormRows(rows: m, cols: d, x: x, epsilon: epsilon, out: s)
            weights.W_1.withUnsafeBufferPointer { w1 in weights.b_1.withUnsafeBufferPointer { b1 in
            weights.W_2.withUnsafeBufferPointer { w2 in weights.b_2.withUnsafeBufferPointer { b2 in
                mlpRaw(m: m, dModel: d, dMLP: h.dMLP, x: s, W_1: w1.baseAddress!, b_1: b1.baseAddress!,
                       W_2: w2.baseAddress!, b_2: b2.baseAddress!, out: s)
            }}}}
            for i in 0..<(m * d) { x[i] = x[i] + s[i] }
        }
    }
}
