import CTXWKernels
import TXWThreads

extension Kernels {
    /// Causal multi-head attention with the notebook's layouts: `x` (m, d_model),
    /// `W_Q`, `W_K`, `W_V` (d_model, d_head, n_head), `W_O` (n_head·d_head, d_model).
    ///
    /// Per head h: `Q = x·W_Q[:, :, h]` (and K, V alike), scores `Q·Kᵀ / sqrt(d_head)`,
    /// future positions set to `maskValue`, softmax over each row, context
    /// `weights·V` placed at columns `h·d_head ..< (h+1)·d_head`, output `context·W_O`.
    /// Runs with `configuration` (threads, instruction set); the result does not depend on it.
    public static func attention<T>(
        _ x: Tensor<T>, W_Q: Tensor<T>, W_K: Tensor<T>, W_V: Tensor<T>, W_O: Tensor<T>,
        maskValue: Double = KernelConstants.notebook.maskValue, configuration: KernelConfiguration = .default
    ) throws -> Tensor<T> {
        try configuration.applied {
            guard W_Q.rank == 3 else {
                throw KernelError.invalidDimension(what: "W_Q", detail: "rank is \(W_Q.rank), expected 3 (d_model, d_head, n_head)")
            }
            let (dModel, dHead, nHead) = (W_Q.shape[0], W_Q.shape[1], W_Q.shape[2])
            guard dModel >= 1, dHead >= 1, nHead >= 1 else {
                throw KernelError.invalidDimension(what: "W_Q", detail: "shape \(KernelError.shape(W_Q.shape)) has an empty axis")
            }
            let hd = try Tensor<T>.elementCount(of: [dHead, nHead], what: "W_Q")
            guard x.rank == 2, x.shape[1] == dModel else {
                throw KernelError.shapeMismatch(what: "attention input", expected: [x.shape.first ?? 0, dModel], found: x.shape)
            }
            for (name, w) in [("W_K", W_K), ("W_V", W_V)] where w.shape != W_Q.shape {
                throw KernelError.shapeMismatch(what: name, expected: W_Q.shape, found: w.shape)
            }
            guard W_O.shape == [hd, dModel] else {
                throw KernelError.shapeMismatch(what: "W_O", expected: [hd, dModel], found: W_O.shape)
            }
            try KernelConstants(rmsnormEpsilon: 0, positionalBase: 2, maskValue: maskValue).validate()
            let m = x.shape[0]
            let shape = AttentionShape(m: m, dModel: dModel, dHead: dHead, nHead: nHead)
            return transform(x) { src, dst in
                W_Q.withUnsafeBufferPointer { q in
                    W_K.withUnsafeBufferPointer { k in
                        W_V.withUnsafeBufferPointer { v in
                            W_O.withUnsafeBufferPointer { o in
                                guard let q = q.baseAddress, let k = k.baseAddress, let v = v.baseAddress, let o = o.baseAddress
                                else { return }
                                attentionRaw(shape, x: src, W_Q: q, W_K: k, W_V: v, W_O: o, mask: T(maskValue), out: dst)
                            }
                        }
                    }
                }
            }
        }
    }

    @usableFromInline
    struct AttentionShape {
        @usableFromInline var m, dModel, dHead, nHead: Int
        @usableFromInline init(m: Int, dModel: Int, dHead: Int, nHead: Int) {
            (self.m, self.dModel, self.dHead, self.nHead) = (m, dModel, dHead, nHead)
        }
    }

    /// Unchecked attention for m ≥ 1; `out` (m, d_model) may alias `x`, which
    /// is fully read into Q, K and V before `out` is written.
    ///
    /// Per head: `S = Q_h · K_hᵀ` by one product, divided by √d_head; each row
    /// softmaxed with the future positions at the mask value (`maskedSoftmaxRow`);
    /// `P · V_h` written straight into the head's columns of the context.
    /// Heads run in parallel; each head's outputs are its own.
    @usableFromInline
    static func attentionRaw<T: KernelScalar>(
        _ s: AttentionShape, x: UnsafePointer<T>,
        W_Q: UnsafePointer<T>, W_K: UnsafePointer<T>, W_V: UnsafePointer<T>, W_O: UnsafePointer<T>,
        mask: T, out: UnsafeMutablePointer<T>
    ) {
        let (m, dModel, dHead, nHead) = (s.m, s.dModel, s.dHead, s.nHead)
        let hd = dHead * nHead
        // Projections, row i = [Q_i | K_i | V_i] (stride 3·hd); within each,
        // column h·d_head + j is dimension j of head h: one product with the
        // fused, head-major weights (`TransformerWeights.fusedHeadMajor`).
        let rs = 3 * hd
        let q = UnsafeMutablePointer<T>.allocate(capacity: m * rs)
        defer { q.deallocate() }
        let context = UnsafeMutablePointer<T>.allocate(capacity: m * hd)
        defer { context.deallocate() }
        let count = dModel * hd
        let fused = TransformerWeights<T>.fusedHeadMajor(
            W_Q: Array(UnsafeBufferPointer(start: W_Q, count: count)),
            W_K: Array(UnsafeBufferPointer(start: W_K, count: count)),
            W_V: Array(UnsafeBufferPointer(start: W_V, count: count)),
            dModel: dModel, dHead: dHead, nHead: nHead)
        fused.withUnsafeBufferPointer { f in
            Gemm.multiply(m: m, n: rs, k: dModel, a: x, lda: dModel, b: f.baseAddress!, ldb: rs, c: q, ldc: rs)
        }
        let scale = T(Double(dHead).squareRoot())
        // UnsafeShared: the projections are only read (rule 2); head h
        // writes only its own columns h·d_head ..< (h+1)·d_head of the context (rule 1).
        let (projections, sharedContext) = (UnsafeShared(q), UnsafeShared(context))
        KernelThreads.parallel(nHead) { h in
            let (q, context) = (projections.pointer, sharedContext.pointer)
            let k = q + hd, v = q + 2 * hd
            // Per head: Q_h (m, d_head), K_hᵀ (d_head, m), V_h (m, d_head), scores (m, m).
            let buffer = UnsafeMutablePointer<T>.allocate(capacity: 3 * m * dHead + m * m)
            defer { buffer.deallocate() }
            let qh = buffer, khT = qh + m * dHead, vh = khT + m * dHead, scores = vh + m * dHead
            for i in 0..<m {
                for j in 0..<dHead {
                    qh[i * dHead + j] = q[i * rs + h * dHead + j]
                    khT[j * m + i] = k[i * rs + h * dHead + j]
                    vh[i * dHead + j] = v[i * rs + h * dHead + j]
                }
            }
            // Row chunks: rows [r0, r1) see positions < r1 only, so their scores
            // need r1 columns and their weighted sums r1 terms (the weights past
            // each row's own position are the masked ones, 0 · v adds nothing).
            let chunk = 48
            for r0 in stride(from: 0, to: m, by: chunk) {
                let r1 = min(r0 + chunk, m)
                Gemm.multiply(m: r1 - r0, n: r1, k: dHead, a: qh + r0 * dHead, lda: dHead, b: khT, ldb: m,
                              c: scores + r0 * m, ldc: m)
                for i in r0..<r1 {
                    attentionRow(scores + i * m, visible: i + 1, count: m, width: m, scale: scale, mask: mask)
                }
                if masksAreZero(scores + r0 * m, rows: r1 - r0, from: r1, count: m) {
                    Gemm.multiply(m: r1 - r0, n: dHead, k: r1, a: scores + r0 * m, lda: m, b: vh, ldb: dHead,
                                  c: context + r0 * hd + h * dHead, ldc: hd)
                } else {
                    Gemm.multiply(m: r1 - r0, n: dHead, k: m, a: scores + r0 * m, lda: m, b: vh, ldb: dHead,
                                  c: context + r0 * hd + h * dHead, ldc: hd)
                }
            }
        }
        Gemm.multiply(m: m, n: dModel, k: hd, a: context, lda: hd, b: W_O, ldb: dModel, c: out, ldc: dModel)
    }

    /// True when columns `from..<count` of the `rows` rows are all zero (the
    /// masked weights underflowed, the normal case).
    @usableFromInline
    static func masksAreZero<T: KernelScalar>(_ rows: UnsafeMutablePointer<T>, rows count_: Int, from: Int, count: Int) -> Bool {
        guard from < count else { return true }
        for r in 0..<count_ where rows[r * count + from] != 0 { return false }
        return true
    }

    /// One attention row in place: `visible` raw scores divided by `scale`,
    /// then the softmax over `count` entries with the future ones at the mask
    /// value, as the notebook computes it (`e = exp(s − max)`, `e / Σe`, the
    /// maximum over the whole row, mask value included). A masked weight is
    /// `exp(mask − max) / Σ`: exactly 0 unless every score is within ~745
    /// (f64) of the mask value. Writes the weights of `0..<visible` and the
    /// masked weight over `visible..<width` — over `visible..<count` when it
    /// is not 0 — and returns the masked weight.
    @usableFromInline @discardableResult
    static func attentionRow<T: KernelScalar>(
        _ row: UnsafeMutablePointer<T>, visible: Int, count: Int, width: Int, scale: T, mask: T
    ) -> T {
        if T.self == Float.self {
            return T(txw_attention_row_f32(UnsafeMutableRawPointer(row).assumingMemoryBound(to: Float.self), visible, count,
                                           width, Float(scale), Float(mask)))
        } else if T.self == Double.self {
            return T(txw_attention_row_f64(UnsafeMutableRawPointer(row).assumingMemoryBound(to: Double.self), visible, count,
                                           width, Double(scale), Double(mask)))
        } else {
            var top = visible < count ? mask : -T.infinity
            for l in 0..<visible {
                row[l] = row[l] / scale
                if row[l] > top { top = row[l] }
            }
            var sum: T = 0
            for l in 0..<visible {
                row[l] = T.exp(row[l] - top)
                sum += row[l]
            }
            let masked = visible < count ? T.exp(mask - top) : 0
            if masked != 0 { for _ in visible..<count { sum += masked } }
            for l in 0..<visible { row[l] = row[l] / sum }
            let weight = masked / sum
            for l in visible..<(weight != 0 ? count : min(width, count)) { row[l] = weight }
            return weight
        }
    }
}
