extension TransformerWeights {
    /// The notebook's `transformer`: m tokens → (m, V) logits.
    ///
    /// `W_E[tokens] + positions`, the blocks in order, then `·W_Eᵀ`.
    /// Throws for an empty sequence or a token outside the vocabulary.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func logits(for tokens: [Int]) throws -> Tensor<Scalar> {
        try Kernels.checkTokens(tokens, vocabSize: hyperparameters.vocabSize)
        let (m, V) = (tokens.count, hyperparameters.vocabSize)
        var out = [Scalar](repeating: 0, count: m * V)
        out.withUnsafeMutableBufferPointer { ob in
            forwardRaw(tokens: tokens, logits: ob.baseAddress!)
        }
        return Tensor(uncheckedShape: [m, V], scalars: out)
    }

    /// Unchecked forward pass for m ≥ 1 valid tokens into `logits` (m, V).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func forwardRaw(tokens: [Int], logits: UnsafeMutablePointer<Scalar>) {
        let h = hyperparameters
        let (m, d, V) = (tokens.count, h.dModel, h.vocabSize)
        var x = [Scalar](repeating: 0, count: m * d)
        x.withUnsafeMutableBufferPointer { xb in
            let x = xb.baseAddress!
            W_E.withUnsafeBufferPointer { eb in
                let e = eb.baseAddress!
                for (i, token) in tokens.enumerated() {
                    (x + i * d).update(from: e + token * d, count: d)
                }
                Kernels.addPositions(rows: m, firstPosition: 0, dModel: d, base: h.constants.positionalBase, into: x)
                for (b, block) in blocks.enumerated() {
                    Kernels.blockRaw(h, m: m, weights: block, fusedQKV: fusedQKV[b], x: x)
                }
                unembedding.withUnsafeBufferPointer { u in
                    Gemm.multiply(m: m, n: V, k: d, a: x, lda: d, b: u.baseAddress!, ldb: V, c: logits, ldc: V)
                }
            }
        }
    }
}

extension Kernels {
    /// The notebook's `transformer(x, W_E, paras, n_block)`.
    public static func transformer<T>(tokens: [Int], weights: TransformerWeights<T>) throws -> Tensor<T> {
        try weights.logits(for: tokens)
    }
}
