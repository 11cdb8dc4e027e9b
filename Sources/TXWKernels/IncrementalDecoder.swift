/// Incremental decoding with a key/value cache: feeding tokens one at a time
/// gives, for each new position, the logits the full forward pass gives for
/// the last position of the sequence so far — computed from the cached keys
/// and values instead of recomputing every earlier position.
///
/// Each step runs the same kernels in the same order as the full pass does
/// for that row (the row products, `attentionRow`, the weighted sum of values
/// over the positions so far), so the logits are the same bit for bit; the
/// full pass's extra zero weights for future positions add nothing.
///
/// That holds while those weights are 0: a mask value so close to the scores
/// that `exp(mask − max)` is not 0 gives the rows of a longer full pass
/// weight on later positions, and with two blocks or more that reaches the
/// last row through the keys and values. The decoder notices (it checks each
/// row of every block but the last) and clears `matchesFullPass`; the
/// sampler then recomputes the whole sequence, as the notebook does.
public struct IncrementalDecoder<Scalar: KernelScalar> {
    /// The model being run.
    public let weights: TransformerWeights<Scalar>
    /// The threads and instruction set each step computes with.
    public let configuration: KernelConfiguration
    /// Tokens fed so far.
    public private(set) var count = 0
    /// False once a fed row had a masked attention weight that is not 0
    /// (see above): the logits may then differ from a full pass's.
    public private(set) var matchesFullPass = true
    private var capacity = 0
    /// Per block, per head: keys transposed (d_head, capacity) and values (capacity, d_head).
    private var keys: [[Scalar]]
    private var values: [[Scalar]]

    /// An empty cache for `weights`, computing with `configuration`'s threads and instruction set.
    public init(_ weights: TransformerWeights<Scalar>, configuration: KernelConfiguration = .default) {
        self.weights = weights
        self.configuration = configuration
        keys = Array(repeating: [], count: weights.hyperparameters.nBlock)
        values = keys
    }

    /// The bytes a decoder of `h` holds after `positions` tokens (nil on
    /// overflow), at its peak: the key/value cache of every block at the
    /// capacity those positions grow it to (doubling from 16) plus one
    /// block's old cache while it grows, the float64 position table (kept
    /// rows grow by doubling), and a step's logits and scratch.
    package static func memoryNeed(_ h: Hyperparameters, positions: Int, scalarBytes s: Int) -> Int? {
        var capacity = 16
        while capacity < positions {
            let (doubled, overflow) = capacity.multipliedReportingOverflow(by: 2)
            if overflow { return nil }
            capacity = doubled
        }
        let hd = CheckedBytes.product(h.dHead, h.nHead)
        let tableRows = min(2 * min(max(positions, 64), PositionTable.keptRows), PositionTable.keptRows)
        return CheckedBytes.sum([
            hd.flatMap { CheckedBytes.product(2, $0, capacity, h.nBlock, s) },
            hd.flatMap { CheckedBytes.product($0, capacity, s) },
            CheckedBytes.product(tableRows, h.dModel, 8),
            CheckedBytes.product(h.vocabSize, 2 * s + 8),
            CheckedBytes.sum([h.dModel, hd.flatMap { CheckedBytes.product(4, $0) }, positions]).flatMap { CheckedBytes.product($0, s) },
        ])
    }

    /// Feeds `token` at the next position and returns that position's logits (V).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func append(_ token: Int) throws -> [Scalar] {
        let h = weights.hyperparameters
        guard token >= 0, token < h.vocabSize else {
            throw KernelError.tokenOutOfRange(position: count, token: token, vocabSize: h.vocabSize)
        }
        if count == capacity { grow() }
        let logits = configuration.applied { feed(token) }
        count += 1
        return logits
    }

    /// The logits of `token` at position `count`, extending the cache, with
    /// the calling thread's configuration.
    private mutating func feed(_ token: Int) -> [Scalar] {
        let h = weights.hyperparameters
        let d = h.dModel, position = count
        var x = Array(weights.W_E.scalars[(token * d)..<((token + 1) * d)])
        var logits = [Scalar](repeating: 0, count: h.vocabSize)
        x.withUnsafeMutableBufferPointer { xb in
            let x = xb.baseAddress!
            Kernels.addPositions(rows: 1, firstPosition: position, dModel: d, base: h.constants.positionalBase, into: x)
            for b in 0..<h.nBlock { step(block: b, x: x) }
            weights.unembedding.withUnsafeBufferPointer { u in
                logits.withUnsafeMutableBufferPointer { l in
                    Gemm.multiply(m: 1, n: h.vocabSize, k: d, a: x, lda: d, b: u.baseAddress!, ldb: h.vocabSize, c: l.baseAddress!, ldc: h.vocabSize)
                }
            }
        }
        return logits
    }

    /// Doubles the cache, keeping what it holds.
    private mutating func grow() {
        let h = weights.hyperparameters
        let newCapacity = max(16, capacity * 2)
        for b in 0..<h.nBlock {
            var k = [Scalar](repeating: 0, count: h.nHead * h.dHead * newCapacity)
            var v = [Scalar](repeating: 0, count: h.nHead * newCapacity * h.dHead)
            for head in 0..<h.nHead {
                for j in 0..<h.dHead {
                    for l in 0..<count {
                        k[(head * h.dHead + j) * newCapacity + l] = keys[b][(head * h.dHead + j) * capacity + l]
                    }
                }
                for l in 0..<count {
                    for j in 0..<h.dHead {
                        v[(head * newCapacity + l) * h.dHead + j] = values[b][(head * capacity + l) * h.dHead + j]
                    }
                }
            }
            keys[b] = k
            values[b] = v
        }
        capacity = newCapacity
    }

    /// One block on the new row `x` (d_model), in place, extending the cache.
    private mutating func step(block b: Int, x: UnsafeMutablePointer<Scalar>) {
        let h = weights.hyperparameters
        let w = weights.blocks[b]
        let (d, dHead, nHead, nBlock) = (h.dModel, h.dHead, h.nHead, h.nBlock)
        let hd = dHead * nHead
        let position = count, visible = count + 1, cap = capacity
        let epsilon = Scalar(h.constants.rmsnormEpsilon)
        let mask = Scalar(h.constants.maskValue)
        let scale = Scalar(Double(dHead).squareRoot())
        var scratch = [Scalar](repeating: 0, count: d + 4 * hd + visible)
        scratch.withUnsafeMutableBufferPointer { sb in
            let normed = sb.baseAddress!
            let q = normed + d, k = q + hd, v = k + hd, context = v + hd, row = context + hd
            Kernels.rmsnormRows(rows: 1, cols: d, x: x, epsilon: epsilon, out: normed)
            // q, k, v are adjacent: one product with the fused weights.
            weights.fusedQKV[b].withUnsafeBufferPointer {
                Gemm.multiply(m: 1, n: 3 * hd, k: d, a: normed, lda: d, b: $0.baseAddress!, ldb: 3 * hd, c: q, ldc: 3 * hd)
            }
            keys[b].withUnsafeMutableBufferPointer { kb in
                values[b].withUnsafeMutableBufferPointer { vb in
                    let kc = kb.baseAddress!, vc = vb.baseAddress!
                    for head in 0..<nHead {
                        let keysT = kc + head * dHead * cap       // (d_head, capacity)
                        let vals = vc + head * cap * dHead        // (capacity, d_head)
                        var qh = [Scalar](repeating: 0, count: dHead)
                        for j in 0..<dHead {
                            qh[j] = q[head * dHead + j]
                            keysT[j * cap + position] = k[head * dHead + j]
                            vals[position * dHead + j] = v[head * dHead + j]
                        }
                        qh.withUnsafeBufferPointer { qp in
                            Gemm.multiply(m: 1, n: visible, k: dHead, a: qp.baseAddress!, lda: dHead, b: keysT, ldb: cap, c: row, ldc: visible)
                        }
                        if b + 1 < nBlock && matchesFullPass {
                            // The weight this row's future positions get in a longer full pass:
                            // exp(mask − max), max over the scaled scores and the mask (the
                            // largest scaled score is the largest raw score, scaled).
                            var largest = row[0]
                            for l in 1..<visible where row[l] > largest { largest = row[l] }
                            let top = Swift.max(largest / scale, mask)
                            var masked = mask - top
                            Gemm.expInPlace(&masked, count: 1)
                            if masked != 0 { matchesFullPass = false }
                        }
                        Kernels.attentionRow(row, visible: visible, count: visible, width: visible, scale: scale, mask: mask)
                        Gemm.multiply(m: 1, n: dHead, k: visible, a: row, lda: visible, b: vals, ldb: dHead, c: context + head * dHead, ldc: hd)
                    }
                }
            }
            w.W_O.withUnsafeBufferPointer { Gemm.multiply(m: 1, n: d, k: hd, a: context, lda: hd, b: $0.baseAddress!, ldb: d, c: normed, ldc: d) }
            for i in 0..<d { x[i] = x[i] + normed[i] }
            Kernels.rmsnormRows(rows: 1, cols: d, x: x, epsilon: epsilon, out: normed)
            w.W_1.withUnsafeBufferPointer { w1 in w.b_1.withUnsafeBufferPointer { b1 in
            w.W_2.withUnsafeBufferPointer { w2 in w.b_2.withUnsafeBufferPointer { b2 in
                Kernels.mlpRaw(m: 1, dModel: d, dMLP: h.dMLP, x: normed, W_1: w1.baseAddress!, b_1: b1.baseAddress!,
                               W_2: w2.baseAddress!, b_2: b2.baseAddress!, out: normed)
            }}}}
            for i in 0..<d { x[i] = x[i] + normed[i] }
        }
    }
}
