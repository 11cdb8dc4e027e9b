extension TransformerWeights {
    /// The notebook's `compute_loss`: the mean over the m−1 next-token
    /// predictions of `−log softmax(logits[i])[tokens[i+1]]`.
    ///
    /// Computed as `logsumexp(logits[i]) − logits[i][tokens[i+1]]` in float64
    /// (whatever the compute precision), so it stays finite where the
    /// notebook's probability underflows to 0 and its loss becomes inf.
    /// Needs at least 2 tokens.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func loss(for tokens: [Int]) throws -> Double {
        try Kernels.checkTokens(tokens, vocabSize: hyperparameters.vocabSize, minimum: 2, what: "loss")
        let logits = try logits(for: tokens)
        return Kernels.meanNextTokenLoss(logits: logits.scalars, vocabSize: hyperparameters.vocabSize, tokens: tokens)
    }
}

extension Kernels {
    /// The notebook's `compute_loss(x, W_E, paras, n_block)`.
    public static func loss<T>(tokens: [Int], weights: TransformerWeights<T>) throws -> Double {
        try weights.loss(for: tokens)
    }

    /// `mean_i (logsumexp(row i) − row i [tokens[i+1]])` over rows 0..<m−1 of
    /// (m, V) logits, in float64.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func meanNextTokenLoss<T: KernelScalar>(logits: [T], vocabSize V: Int, tokens: [Int]) -> Double {
        var total = 0.0
        var row = [Double](repeating: 0, count: V)
        logits.withUnsafeBufferPointer { all in
            row.withUnsafeMutableBufferPointer { r in
                for i in 0..<(tokens.count - 1) {
                    var top = -Double.infinity
                    for v in 0..<V {
                        let value = Double(all[i * V + v])
                        r[v] = value
                        if value > top { top = value }
                    }
                    // exp in float64 by the kernels' vectorised exp (Spec/kernels.md).
                    for v in 0..<V { r[v] -= top }
                    Gemm.expInPlace(r.baseAddress!, count: V)
                    var sum = 0.0
                    for v in 0..<V { sum += r[v] }
                    let logSumExp = top + Math.log(sum)
                    total += logSumExp - Double(all[i * V + tokens[i + 1]])
                }
            }
        }
        return total / Double(tokens.count - 1)
    }
}
