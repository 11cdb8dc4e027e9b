extension Kernels {
    /// Causal multi-head attention with the notebook's layouts: `x` (m, d_model),
    /// `W_Q`, `W_K`, `W_V` (d_model, d_head, n_head), `W_O` (n_head·d_head, d_model).
    ///
    /// Per head h: `Q = x·W_Q[:, :, h]` (and K, V alike), scores `Q·Kᵀ / sqrt(d_head)`,
    /// future positions set to `maskValue`, softmax over each row, context
    /// `weights·V` placed at columns `h·d_head ..< (h+1)·d_head`, output `context·W_O`.
    public static func attention<T>(
        _ x: Tensor<T>, W_Q: Tensor<T>, W_K: Tensor<T>, W_V: Tensor<T>, W_O: Tensor<T>,
        maskValue: Double = KernelConstants.notebook.maskValue
    ) throws -> Tensor<T> {
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

    @usableFromInline
    struct AttentionShape {
        @usableFromInline var m, dModel, dHead, nHead: Int
        @usableFromInline init(m: Int, dModel: Int, dHead: Int, nHead: Int) {
            (self.m, self.dModel, self.dHead, self.nHead) = (m, dModel, dHead, nHead)
        }
    }

    /// Unchecked attention for m ≥ 1; `out` (m, d_model) may alias `x`, which
    /// is fully read into Q, K and V before `out` is written.
    @usableFromInline
    static func attentionRaw<T: KernelScalar>(
        _ s: AttentionShape, x: UnsafePointer<T>,
        W_Q: UnsafePointer<T>, W_K: UnsafePointer<T>, W_V: UnsafePointer<T>, W_O: UnsafePointer<T>,
        mask: T, out: UnsafeMutablePointer<T>
    ) {
        let (m, dModel, dHead, nHead) = (s.m, s.dModel, s.dHead, s.nHead)
        let hd = dHead * nHead
        // Projections: column j·n_head + h of (m, d_head·n_head) is dimension j of head h.
        var q = [T](repeating: 0, count: m * hd)
        var k = q, v = q
        var context = [T](repeating: 0, count: m * hd)
        var qh = [T](repeating: 0, count: m * dHead)
        var kh = qh, vh = qh
        var weights = [T](repeating: 0, count: m)
        let scale = T(Double(dHead).squareRoot())
        q.withUnsafeMutableBufferPointer { q in
        k.withUnsafeMutableBufferPointer { k in
        v.withUnsafeMutableBufferPointer { v in
        qh.withUnsafeMutableBufferPointer { qh in
        kh.withUnsafeMutableBufferPointer { kh in
        vh.withUnsafeMutableBufferPointer { vh in
        weights.withUnsafeMutableBufferPointer { w in
        context.withUnsafeMutableBufferPointer { ctx in
            let (q, k, v) = (q.baseAddress!, k.baseAddress!, v.baseAddress!)
            let (qh, kh, vh) = (qh.baseAddress!, kh.baseAddress!, vh.baseAddress!)
            let (w, ctx) = (w.baseAddress!, ctx.baseAddress!)
            Gemm.multiply(m: m, n: hd, k: dModel, a: x, lda: dModel, b: W_Q, ldb: hd, c: q, ldc: hd)
            Gemm.multiply(m: m, n: hd, k: dModel, a: x, lda: dModel, b: W_K, ldb: hd, c: k, ldc: hd)
            Gemm.multiply(m: m, n: hd, k: dModel, a: x, lda: dModel, b: W_V, ldb: hd, c: v, ldc: hd)
            for h in 0..<nHead {
                for i in 0..<m {
                    for j in 0..<dHead {
                        qh[i * dHead + j] = q[i * hd + j * nHead + h]
                        kh[i * dHead + j] = k[i * hd + j * nHead + h]
                        vh[i * dHead + j] = v[i * hd + j * nHead + h]
                    }
                }
                for i in 0..<m {
                    let qi = qh + i * dHead
                    var top = i + 1 < m ? mask : -T.infinity
                    for l in 0...i {
                        let kl = kh + l * dHead
                        var dot: T = 0
                        for j in 0..<dHead { dot += qi[j] * kl[j] }
                        let score = dot / scale
                        w[l] = score
                        if score > top { top = score }
                    }
                    var sum: T = 0
                    for l in 0...i {
                        let e = T.exp(w[l] - top)
                        w[l] = e
                        sum += e
                    }
                    // Future positions hold the mask value; their weight is
                    // exp(mask - top), exactly 0 unless every score is near the mask.
                    let masked = i + 1 < m ? T.exp(mask - top) : 0
                    sum += T(m - 1 - i) * masked
                    let row = ctx + i * hd + h * dHead
                    for j in 0..<dHead { row[j] = 0 }
                    for l in 0...i {
                        let wl = w[l] / sum
                        let vl = vh + l * dHead
                        for j in 0..<dHead { row[j] += wl * vl[j] }
                    }
                    if masked != 0 {
                        let wm = masked / sum
                        for l in (i + 1)..<m {
                            let vl = vh + l * dHead
                            for j in 0..<dHead { row[j] += wm * vl[j] }
                        }
                    }
                }
            }
            Gemm.multiply(m: m, n: dModel, k: hd, a: ctx, lda: hd, b: W_O, ldb: dModel, c: out, ldc: dModel)
        }}}}}}}}
    }
}
