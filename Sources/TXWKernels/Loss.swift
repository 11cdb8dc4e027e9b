import RealModule
import TXWThreads

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
    public func loss(for tokens: [Int], configuration: KernelConfiguration = .default) throws -> Double {
        try Kernels.checkTokens(tokens, vocabSize: hyperparameters.vocabSize, minimum: 2, what: "loss")
        return try configuration.applied {
            let logits = try logits(for: tokens, configuration: configuration)
            return Kernels.meanNextTokenLoss(logits: logits.scalars, vocabSize: hyperparameters.vocabSize, tokens: tokens)
        }
    }
}

extension Kernels {
    /// `mean_i (logsumexp(row i) − row i [tokens[i+1]])` over rows 0..<m−1 of
    /// (m, V) logits, in float64.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func meanNextTokenLoss<T: KernelScalar>(logits: [T], vocabSize V: Int, tokens: [Int]) -> Double {
        let rows = tokens.count - 1
        // Each row's term on its own (rows split over the kernel threads),
        // then added in row order: the same sum whatever the thread count.
        var terms = [Double](repeating: 0, count: rows)
        let parts = rows * V < 1 << 12 ? 1 : min(KernelThreads.count, rows)
        logits.withUnsafeBufferPointer { all in
            terms.withUnsafeMutableBufferPointer { out in
                let per = (rows + parts - 1) / parts
                // UnsafeShared: the logits are only read (rule 2); each part
                // writes the terms of its own rows (rule 1).
                let (all, out) = (UnsafeShared(all), UnsafeShared(out))
                KernelThreads.parallel(parts) { part in
                    let (all, out) = (all.pointer, out.pointer)
                    let r = UnsafeMutablePointer<Double>.allocate(capacity: V)
                    defer { r.deallocate() }
                    for i in (part * per)..<min((part + 1) * per, rows) {
                        var top = -Double.infinity
                        for v in 0..<V {
                            let value = Double(all[i * V + v])
                            r[v] = value
                            if value > top { top = value }
                        }
                        // exp in float64 by the kernels' vectorised exp (Spec/kernels.md).
                        for v in 0..<V { r[v] -= top }
                        Gemm.expInPlace(r, count: V)
                        var sum = 0.0
                        for v in 0..<V { sum += r[v] }
                        let logSumExp = top + Double.log(sum)
                        out[i] = logSumExp - Double(all[i * V + tokens[i + 1]])
                    }
                }
            }
        }
        var total = 0.0
        for term in terms { total += term }
        return total / Double(rows)
    }
}
