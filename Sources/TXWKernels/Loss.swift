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
    ///
    /// The (m, V) logits are never held at once: the forward pass keeps its
    /// final rows (m, d_model), and the logits are computed from them
    /// `lossChunkRows` rows at a time, each row's term as before; the terms
    /// are added in row order, so the result is the one a full (m, V) pass
    /// gives, bit for bit, whatever the chunk and thread counts. Memory:
    /// `lossMemoryNeed(tokens:threads:)`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func loss(for tokens: [Int], configuration: KernelConfiguration = .default) throws -> Double {
        try Kernels.checkTokens(tokens, vocabSize: hyperparameters.vocabSize, minimum: 2, what: "loss")
        return configuration.applied { chunkedLoss(tokens, chunkRows: lossChunkRows) }
    }

    /// Rows of logits the loss computes at once: about 16 MiB of them
    /// (at least 1 row, at most 1024).
    package var lossChunkRows: Int {
        let rowBytes = max(1, hyperparameters.vocabSize * MemoryLayout<Scalar>.size)
        return max(1, min(1024, (16 << 20) / rowBytes))
    }

    /// The loss with logits computed `chunkRows` rows at a time, with the
    /// calling thread's configuration: one window over the whole sequence.
    package func chunkedLoss(_ tokens: [Int], chunkRows: Int) -> Double {
        windowedLoss(tokens, context: tokens.count, stride: 1, chunkRows: chunkRows).loss
    }

    /// The bytes `loss(for:)` (`context` nil) or
    /// `loss(for:context:stride:configuration:)` allocates for n tokens (nil
    /// on overflow), with at most `threads` threads. One window of
    /// m = min(n, context) tokens is computed at a time: the forward pass's
    /// buffers, its final rows (m, d_model), one chunk of logits, the
    /// threads' float64 rows (V each), the window's tokens and its terms.
    /// Bounded independently of n × V, and with a context independently of n.
    package func lossMemoryNeed(tokens n: Int, context: Int? = nil, threads: Int) -> Int? {
        let s = MemoryLayout<Scalar>.size, h = hyperparameters
        let m = min(n, context ?? n)
        return CheckedBytes.sum([
            SequenceForward.memoryNeed(h, m: m, scalarBytes: s, threads: threads),
            CheckedBytes.product(m, h.dModel, s),
            CheckedBytes.product(min(lossChunkRows, max(m, 1)), h.vocabSize, s),
            CheckedBytes.product(max(1, threads), h.vocabSize, 8),
            CheckedBytes.product(m, 16),
        ])
    }

    /// The bytes `logits(for:)` allocates for m tokens (nil on overflow): the
    /// (m, V) result and the forward pass's buffers.
    package func logitsMemoryNeed(tokens m: Int, threads: Int) -> Int? {
        CheckedBytes.sum([
            SequenceForward.memoryNeed(hyperparameters, m: m, scalarBytes: MemoryLayout<Scalar>.size, threads: threads),
            CheckedBytes.product(m, hyperparameters.vocabSize, MemoryLayout<Scalar>.size),
        ])
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
        logits.withUnsafeBufferPointer { all in
            nextTokenLossTerms(logits: all.baseAddress!, rows: rows, vocabSize: V, tokens: tokens, firstRow: 0, into: &terms)
        }
        var total = 0.0
        for term in terms { total += term }
        return total / Double(rows)
    }

    /// `terms[firstRow + i] = logsumexp(row i) − row i [tokens[firstRow + i + 1]]`
    /// for the `rows` rows of (rows, V) `logits`, in float64, rows split over the kernel threads.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func nextTokenLossTerms<T: KernelScalar>(
        logits: UnsafePointer<T>, rows: Int, vocabSize V: Int, tokens: [Int], firstRow: Int, into terms: inout [Double]
    ) {
        let parts = rows * V < 1 << 12 ? 1 : min(KernelThreads.count, rows)
        do {
            let source = UnsafeBufferPointer(start: logits, count: rows * V)
            let tokens = Array(tokens[firstRow...(firstRow + rows)])
            terms.withUnsafeMutableBufferPointer { whole in
                let per = (rows + parts - 1) / parts
                // UnsafeShared: the logits are only read (rule 2); each part
                // writes the terms of its own rows (rule 1).
                let (all, out) = (UnsafeShared(source), UnsafeShared(UnsafeMutableBufferPointer(rebasing: whole[firstRow..<(firstRow + rows)])))
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
    }
}
