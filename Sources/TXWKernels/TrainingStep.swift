import CTXWKernels
import RealModule
import TXWThreads

/// The fast training path: the loss and gradients of several windows of the
/// same length at once (Spec/kernels.md, "Gradients", "The training step").
///
/// The windows' rows are stacked into one (windows·m, ·) matrix, so every
/// product with a weight matrix is one large GEMM over all rows (the weight
/// gradients sum over every row of every window in one product, row order).
/// The forward pass records what the backward pass needs (each block's
/// input, normalised inputs, projections, attention weights, context,
/// residual, MLP pre-activation and activation), so nothing is recomputed.
/// Attention, forward and backward, runs per (window, head) in parallel;
/// each task writes only its own rows and columns, so no result depends on
/// the thread count.
package enum TrainingStep {
    /// The scalars `trainingGradients` holds at once (recorded activations
    /// and work space, not the gradients it returns) for `windows` windows
    /// of `m` tokens of a model of `h`, as a Double so nothing overflows.
    package static func scratchCount(_ h: Hyperparameters, windows: Int, m: Int) -> Double {
        let (d, V, hd, f) = (Double(h.dModel), Double(h.vocabSize), Double(h.nHead * h.dHead), Double(h.dMLP))
        let rows = Double(windows) * Double(m)
        let perBlock = rows * (4 * d + 4 * hd + 2 * f) + Double(windows) * Double(h.nHead) * Double(m) * Double(m)
        let widest = max(f, d, 3 * hd, V)
        let span = max(rows, d, f) * widest
        return Double(h.nBlock) * perBlock + rows * (d + V) + rows * (2 * d + 4 * hd) + 2 * span
    }

    /// The most scalars one chunk of a step records (2^24): a step's windows
    /// are computed in chunks of `windowsPerChunk` windows.
    package static var chunkScalars: Double { 0x1p24 }

    /// The windows computed at once in a step of `batch` windows of `m`
    /// tokens: as many as keep `scratchCount` within `chunkScalars` (at
    /// least 1), then balanced so the chunks are nearly equal. Depends on the
    /// model and the step's shape only, never on the thread count.
    package static func windowsPerChunk(_ h: Hyperparameters, batch: Int, m: Int) -> Int {
        // The most windows within the limit: scratchCount grows with the windows.
        var (most, over) = (1, max(batch, 1) + 1)
        while over - most > 1 {
            let middle = most + (over - most) / 2
            if scratchCount(h, windows: middle, m: m) <= chunkScalars { most = middle } else { over = middle }
        }
        let chunks = (batch + most - 1) / most
        return (batch + chunks - 1) / chunks
    }
}

/// Memory a training run keeps from one step to the next for
/// `trainingGradients` (recorded activations, work space), so a step does
/// not map and fault in fresh pages. Grows to the largest step's need; one
/// owner at a time (`Trainer` replaces a shared one before a step).
package final class TrainingWorkspace: @unchecked Sendable {
    private var storage: UnsafeMutableRawPointer?
    private var bytes = 0

    package init() {}

    deinit { storage?.deallocate() }

    /// At least `count` values of `T`, 64-byte aligned; the contents are undefined.
    func scalars<T>(_ count: Int, as type: T.Type = T.self) -> UnsafeMutablePointer<T> {
        let need = count * MemoryLayout<T>.stride
        if need > bytes || storage == nil {
            storage?.deallocate()
            storage = UnsafeMutableRawPointer.allocate(byteCount: max(need, 64), alignment: 64)
            bytes = max(need, 64)
        }
        return storage!.bindMemory(to: T.self, capacity: count)
    }
}

extension TransformerWeights {
    /// The sum over `windows` (each of the same length m ≥ 2, tokens in
    /// range: the caller checks) of each window's mean next-token loss, and
    /// the gradient of that sum with respect to every parameter, in
    /// canonical tensor order (`parameterTensors`). Runs with the calling
    /// thread's kernel configuration.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    package func trainingGradients(
        windows: [[Int]], workspace: TrainingWorkspace = TrainingWorkspace()
    ) -> (lossSum: Double, gradients: [[Scalar]]) {
        typealias T = Scalar
        let h = hyperparameters
        let W = windows.count, m = windows[0].count
        let M = W * m
        let (d, V, nh, dh, f, nb) = (h.dModel, h.vocabSize, h.nHead, h.dHead, h.dMLP, h.nBlock)
        let hd = nh * dh, rs = 3 * hd
        let epsilon = T(h.constants.rmsnormEpsilon), mask = T(h.constants.maskValue)
        let scale = T(Double(dh).squareRoot())

        // Recorded per block: input x, rmsnorm(x), [Q|K|V], attention weights,
        // context, residual r, rmsnorm(r), GELU′ of the MLP pre-activation
        // (`oHid`: the pre-activation until the GELU, its derivative after)
        // and the activation.
        let (oX, oXn, oQKV, oP) = (0, M * d, 2 * M * d, 2 * M * d + M * rs)
        let oCtx = oP + W * nh * m * m
        let (oR, oRn, oHid) = (oCtx + M * hd, oCtx + M * hd + M * d, oCtx + M * hd + 2 * M * d)
        let oAct = oHid + M * f
        let perBlock = oAct + M * f
        // The product buffer and the transposes' scratch hold M rows of the
        // widest matrix, or a weight matrix (or dW_Eᵀ) when that is larger.
        let span = max(M, d, f) * max(f, d, rs, V)
        let recorded = nb * perBlock + M * d + M * V
        let record = workspace.scalars(recorded + 2 * M * d + span + M * rs + span + M * hd, as: T.self)
        func at(_ b: Int, _ o: Int) -> UnsafeMutablePointer<T> { record + b * perBlock + o }
        let final = record + nb * perBlock, logits = final + M * d

        // Embedding and positions.
        W_E.scalars.withUnsafeBufferPointer { e in
            let x0 = nb > 0 ? at(0, oX) : final
            for (w, window) in windows.enumerated() {
                for (i, token) in window.enumerated() {
                    (x0 + (w * m + i) * d).update(from: e.baseAddress! + token * d, count: d)
                }
                Kernels.addPositions(rows: m, firstPosition: 0, dModel: d, base: h.constants.positionalBase, into: x0 + w * m * d)
            }
        }

        // Forward, recording.
        let headTasks = W * nh
        for b in 0..<nb {
            let w = blocks[b]
            let x = at(b, oX), xn = at(b, oXn), qkv = at(b, oQKV), P = at(b, oP), ctx = at(b, oCtx)
            let r = at(b, oR), rn = at(b, oRn), hid = at(b, oHid), act = at(b, oAct)
            let out = b + 1 < nb ? at(b + 1, oX) : final
            let (sxIn, sxn) = (UnsafeShared(x), UnsafeShared(xn))
            Backward.split(M, grain: 64) { rows in
                Kernels.rmsnormRows(rows: rows.count, cols: d, x: sxIn.pointer + rows.lowerBound * d, epsilon: epsilon,
                                    out: sxn.pointer + rows.lowerBound * d)
            }
            fusedQKV[b].withUnsafeBufferPointer { fq in
                Gemm.multiply(m: M, n: rs, k: d, a: xn, lda: d, b: fq.baseAddress!, ldb: rs, c: qkv, ldc: rs)
            }
            // UnsafeShared: the projections are only read; task (window, head)
            // writes only its own weights and its head's context columns of its window's rows.
            let (sQKV, sP, sCtx) = (UnsafeShared(qkv), UnsafeShared(P), UnsafeShared(ctx))
            KernelThreads.parallel(headTasks) { task in
                let (win, head) = (task / nh, task % nh)
                let base = sQKV.pointer + win * m * rs
                let weights = sP.pointer + task * m * m
                // S = Q·Kᵀ, K read in place (transposed operand).
                Gemm.serial(transposeB: true, m: m, n: m, k: dh, a: base + head * dh, lda: rs, b: base + hd + head * dh, ldb: rs,
                            c: weights, ldc: m)
                for i in 0..<m {
                    Kernels.attentionRow(weights + i * m, visible: i + 1, count: m, width: m, scale: scale, mask: mask)
                }
                Gemm.serial(m: m, n: dh, k: m, a: weights, lda: m, b: base + 2 * hd + head * dh, ldb: rs,
                            c: sCtx.pointer + win * m * hd + head * dh, ldc: hd)
            }
            w.W_O.scalars.withUnsafeBufferPointer { o in
                Gemm.multiply(m: M, n: d, k: hd, a: ctx, lda: hd, b: o.baseAddress!, ldb: d, c: r, ldc: d)
            }
            // UnsafeShared: every range of rows reads and writes only its own rows.
            let (sx, sr, srn, shid, sact, sout) = (UnsafeShared(x), UnsafeShared(r), UnsafeShared(rn), UnsafeShared(hid),
                                                   UnsafeShared(act), UnsafeShared(out))
            Backward.split(M, grain: 64) { rows in
                let (x, r, rn) = (sx.pointer, sr.pointer, srn.pointer)
                for i in (rows.lowerBound * d)..<(rows.upperBound * d) { r[i] = x[i] + r[i] }
                Kernels.rmsnormRows(rows: rows.count, cols: d, x: r + rows.lowerBound * d, epsilon: epsilon,
                                    out: rn + rows.lowerBound * d)
            }
            w.W_1.scalars.withUnsafeBufferPointer { w1 in w.b_1.scalars.withUnsafeBufferPointer { b1 in
                Gemm.multiply(m: M, n: f, k: d, a: rn, lda: d, b: w1.baseAddress!, ldb: f, c: hid, ldc: f)
                let sb1 = UnsafeShared(b1.baseAddress!)
                Backward.split(M, grain: 16) { rows in
                    let (hid, act, b1) = (shid.pointer, sact.pointer, sb1.pointer)
                    for i in rows {
                        let row = hid + i * f
                        for j in 0..<f { row[j] += b1[j] }
                    }
                    // The activation, and in place of the pre-activation its
                    // GELU derivative (all the backward pass needs of it).
                    let first = rows.lowerBound * f
                    Gemm.geluRecording(hid + first, activation: act + first, count: rows.count * f)
                }
            }}
            w.W_2.scalars.withUnsafeBufferPointer { w2 in w.b_2.scalars.withUnsafeBufferPointer { b2 in
                Gemm.multiply(m: M, n: d, k: f, a: act, lda: f, b: w2.baseAddress!, ldb: d, c: out, ldc: d)
                let sb2 = UnsafeShared(b2.baseAddress!)
                Backward.split(M, grain: 64) { rows in
                    let (out, r, b2) = (sout.pointer, sr.pointer, sb2.pointer)
                    for i in rows {
                        let row = out + i * d, res = r + i * d
                        for j in 0..<d { row[j] = res[j] + (row[j] + b2[j]) }
                    }
                }
            }}
        }
        unembedding.withUnsafeBufferPointer { u in
            Gemm.multiply(m: M, n: V, k: d, a: final, lda: d, b: u.baseAddress!, ldb: V, c: logits, ldc: V)
        }

        // Loss, and its gradient over the logits in place: row i < m−1 of a
        // window is (softmax − onehot(next token)) / (m − 1); the last row 0.
        var terms = [Double](repeating: 0, count: M)
        do {
            let parts = min(KernelThreads.count, M)
            let per = (M + parts - 1) / parts
            let tokens = windows.flatMap { $0 }
            let count = Double(m - 1)
            terms.withUnsafeMutableBufferPointer { termsBuffer in
            let (sLogits, sTerms) = (UnsafeShared(logits), UnsafeShared(termsBuffer.baseAddress!))
            KernelThreads.parallel(parts) { part in
                for row in (part * per)..<min((part + 1) * per, M) {
                    let y = sLogits.pointer + row * V
                    if row % m == m - 1 {
                        for v in 0..<V { y[v] = 0 }
                        continue
                    }
                    let target = tokens[row + 1]
                    var top = -T.infinity
                    for v in 0..<V where y[v] > top { top = y[v] }
                    let targetLogit = Double(y[target]) - Double(top)
                    for v in 0..<V { y[v] = y[v] - top }
                    Gemm.expInPlace(y, count: V)
                    var sum = 0.0
                    for v in 0..<V { sum += Double(y[v]) }
                    sTerms.pointer[row] = Double.log(sum) - targetLogit
                    let inverse = 1 / (sum * count)
                    for v in 0..<V { y[v] = T(Double(y[v]) * inverse) }
                    y[target] = y[target] - T(1 / count)
                }
            }
            }
        }
        var lossSum = 0.0
        for w in 0..<W {
            var total = 0.0
            for i in 0..<(m - 1) { total += terms[w * m + i] }
            lossSum += total / Double(m - 1)
        }
        let dLogits = logits

        // Backward. Work space: dx, dr (M, d); a (M, max) product buffer; dQKV;
        // a weight gradient computed transposed (`product(transposing:)`); dCtx.
        let dx = record + recorded, dr = dx + M * d, buffer = dr + M * d, dQKV = buffer + span
        let transposed = dQKV + M * rs, dCtx = transposed + span

        var gradients = [[T]](repeating: [], count: 1 + 8 * nb)
        // Unembedding: dW_E from it = dLogitsᵀ·x = (xᵀ·dLogits)ᵀ; dx = dLogits·W_E.
        var dW_E = [T](repeating: 0, count: V * d)
        Gemm.multiply(transposeA: true, m: d, n: V, k: M, a: final, lda: d, b: dLogits, ldb: V, c: buffer, ldc: V)
        dW_E.withUnsafeMutableBufferPointer { g in Backward.transpose(rows: d, cols: V, buffer, lda: V, into: g.baseAddress!) }
        W_E.scalars.withUnsafeBufferPointer { e in
            Gemm.multiply(m: M, n: d, k: V, a: dLogits, lda: V, b: e.baseAddress!, ldb: d, c: dx, ldc: d)
        }

        for b in (0..<nb).reversed() {
            let w = blocks[b]
            let x = at(b, oX), xn = at(b, oXn), qkv = at(b, oQKV), P = at(b, oP), ctx = at(b, oCtx)
            let r = at(b, oR), rn = at(b, oRn), hid = at(b, oHid), act = at(b, oAct)
            // MLP: out = r + gelu(rn·W_1 + b_1)·W_2 + b_2.
            let dW_2 = Backward.product(transposing: act, rows: M, cols: f, times: dx, n: d, scratch: transposed)
            let db_2 = Backward.columnSums(dx, rows: M, cols: d)
            Backward.product(dx, m: M, k: d, timesTransposeOf: w.W_2.scalars, n: f, into: buffer)
            // dy·gelu′(pre-activation): the forward pass left gelu′ in `hid`.
            let (shidB, sbuf) = (UnsafeShared(UnsafePointer(hid)), UnsafeShared(buffer))
            Backward.split(M * f, grain: 1 << 12) { range in
                let (derivative, dy) = (shidB.pointer, sbuf.pointer)
                for i in range { dy[i] = dy[i] * derivative[i] }
            }
            let dW_1 = Backward.product(transposing: rn, rows: M, cols: d, times: buffer, n: f, scratch: transposed)
            let db_1 = Backward.columnSums(buffer, rows: M, cols: f)
            Backward.product(buffer, m: M, k: f, timesTransposeOf: w.W_1.scalars, n: d, into: dr)
            Backward.rmsnormAdding(x: r, dy: dr, to: dx, rows: M, cols: d, epsilon: epsilon, out: dr)
            // Attention: r = x + context·W_O.
            let dW_O = Backward.product(transposing: ctx, rows: M, cols: hd, times: dr, n: d, scratch: transposed)
            Backward.product(dr, m: M, k: d, timesTransposeOf: w.W_O.scalars, n: hd, into: dCtx)
            let (sQKV, sP, sCtx, sD) = (UnsafeShared(qkv), UnsafeShared(P), UnsafeShared(dCtx), UnsafeShared(dQKV))
            KernelThreads.parallel(headTasks) { task in
                let (win, head) = (task / nh, task % nh)
                let base = sQKV.pointer + win * m * rs, dBase = sD.pointer + win * m * rs
                let weights = sP.pointer + task * m * m
                let dC = sCtx.pointer + win * m * hd + head * dh
                let dS = UnsafeMutablePointer<T>.allocate(capacity: m * m)
                defer { dS.deallocate() }
                // dP = dC·Vᵀ; dV = Pᵀ·dC (transposed operands read in place).
                Gemm.serial(transposeB: true, m: m, n: m, k: dh, a: dC, lda: hd, b: base + 2 * hd + head * dh, ldb: rs,
                            c: dS, ldc: m)
                Gemm.serial(transposeA: true, m: m, n: dh, k: m, a: weights, lda: m, b: dC, ldb: hd,
                            c: dBase + 2 * hd + head * dh, ldc: rs)
                // dS = P ⊙ (dP − rowsum(P ⊙ dP)) / √d_head, masked entries 0; dQ = dS·K; dK = dSᵀ·Q.
                Backward.attentionScores(p: weights, dp: dS, rows: m, scale: scale)
                Gemm.serial(m: m, n: dh, k: m, a: dS, lda: m, b: base + hd + head * dh, ldb: rs, c: dBase + head * dh, ldc: rs)
                Gemm.serial(transposeA: true, m: m, n: dh, k: m, a: dS, lda: m, b: base + head * dh, ldb: rs,
                            c: dBase + hd + head * dh, ldc: rs)
            }
            let dFused = Backward.product(transposing: xn, rows: M, cols: d, times: dQKV, n: rs, scratch: transposed)
            fusedQKV[b].withUnsafeBufferPointer { fq in
                Backward.product(dQKV, m: M, k: rs, timesTransposeOf: fq, n: d, into: buffer)
            }
            Backward.rmsnormAdding(x: x, dy: buffer, to: dr, rows: M, cols: d, epsilon: epsilon, out: dx)
            // The fused gradient back into the notebook's (d_model, d_head, n_head) layouts.
            var (dW_Q, dW_K, dW_V) = ([T](repeating: 0, count: d * hd), [T](repeating: 0, count: d * hd), [T](repeating: 0, count: d * hd))
            for c in 0..<d {
                for head in 0..<nh {
                    for j in 0..<dh {
                        let from = c * rs + head * dh + j, to = c * hd + j * nh + head
                        dW_Q[to] = dFused[from]
                        dW_K[to] = dFused[from + hd]
                        dW_V[to] = dFused[from + 2 * hd]
                    }
                }
            }
            let g = 1 + 8 * b
            (gradients[g], gradients[g + 1], gradients[g + 2], gradients[g + 3]) = (dW_1, db_1, dW_2, db_2)
            (gradients[g + 4], gradients[g + 5], gradients[g + 6], gradients[g + 7]) = (dW_Q, dW_K, dW_V, dW_O)
        }
        // The embedding: each row's input gradient into its token's row, in row order.
        dW_E.withUnsafeMutableBufferPointer { g in
            let tokens = windows.flatMap { $0 }
            for (row, token) in tokens.enumerated() {
                let to = g.baseAddress! + token * d, from = dx + row * d
                for c in 0..<d { to[c] += from[c] }
            }
        }
        gradients[0] = dW_E
        return (lossSum, gradients)
    }
}

extension Backward {
    /// Runs `body` on consecutive ranges of `0..<count` (at least `grain`
    /// each) across the kernel threads; each range is computed as it would
    /// be alone, so the split never changes a result.
    static func split(_ count: Int, grain: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let parts = max(1, min(KernelThreads.count, count / max(grain, 1)))
        if parts == 1 { return body(0..<count) }
        let per = (count + parts - 1) / parts
        KernelThreads.parallel(parts) { part in
            let lower = min(part * per, count), upper = min(lower + per, count)
            if lower < upper { body(lower..<upper) }
        }
    }

    /// out (cols × rows) = the transpose of a (rows × cols, row stride lda).
    static func transpose<T: KernelScalar>(rows: Int, cols: Int, _ a: UnsafePointer<T>, lda: Int, into out: UnsafeMutablePointer<T>) {
        // UnsafeShared: a is only read; each range of columns writes its own rows of out.
        let (sa, so) = (UnsafeShared(a), UnsafeShared(out))
        Backward.split((cols + 7) / 8, grain: rows * cols < 1 << 14 ? Int.max : 4) { blocks in
            let c0 = blocks.lowerBound * 8, c1 = min(blocks.upperBound * 8, cols)
            transposeSerial(rows: rows, cols: c1 - c0, sa.pointer + c0, lda: lda, into: so.pointer + c0 * rows)
        }
    }

    static func transposeSerial<T: KernelScalar>(rows: Int, cols: Int, _ a: UnsafePointer<T>, lda: Int, into out: UnsafeMutablePointer<T>) {
        if T.self == Float.self {
            txw_transpose_f32(rows, cols, UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), lda,
                              UnsafeMutableRawPointer(out).assumingMemoryBound(to: Float.self))
        } else if T.self == Double.self {
            txw_transpose_f64(rows, cols, UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), lda,
                              UnsafeMutableRawPointer(out).assumingMemoryBound(to: Double.self))
        } else {
            for r in 0..<rows { for c in 0..<cols { out[c * rows + r] = a[r * lda + c] } }
        }
    }

    /// Aᵀ·B for A (rows × cols) and B (rows × n): a (cols × n) array, each
    /// element the sum over rows in increasing order. A is read in place as a
    /// transposed operand when cols ≤ n; otherwise (Bᵀ·A)ᵀ is computed (the
    /// same products and sums, so the same bits: a narrow transposed operand
    /// reads its rows' cache lines for several output rows at once) into
    /// `scratch` and transposed.
    static func product<T: KernelScalar>(
        transposing a: UnsafePointer<T>, rows: Int, cols: Int, times b: UnsafePointer<T>, n: Int, scratch: UnsafeMutablePointer<T>
    ) -> [T] {
        [T](unsafeUninitializedCapacity: cols * n) { out, initialized in
            if cols <= n {
                Gemm.multiply(transposeA: true, m: cols, n: n, k: rows, a: a, lda: cols, b: b, ldb: n, c: out.baseAddress!, ldc: n)
            } else {
                Gemm.multiply(transposeA: true, m: n, n: cols, k: rows, a: b, lda: n, b: a, ldb: cols, c: scratch, ldc: cols)
                transpose(rows: n, cols: cols, scratch, lda: cols, into: out.baseAddress!)
            }
            initialized = cols * n
        }
    }

    /// into (m × n) = A (m × k) · Bᵀ for B (n × k), B read in place as a transposed operand.
    static func product<T: KernelScalar>(
        _ a: UnsafePointer<T>, m: Int, k: Int, timesTransposeOf b: [T], n: Int, into: UnsafeMutablePointer<T>
    ) {
        b.withUnsafeBufferPointer { bb in product(a, m: m, k: k, timesTransposeOf: bb, n: n, into: into) }
    }

    static func product<T: KernelScalar>(
        _ a: UnsafePointer<T>, m: Int, k: Int, timesTransposeOf b: UnsafeBufferPointer<T>, n: Int, into: UnsafeMutablePointer<T>
    ) {
        Gemm.multiply(transposeB: true, m: m, n: n, k: k, a: a, lda: k, b: b.baseAddress!, ldb: k, c: into, ldc: n)
    }

    /// The sums of the columns of a (rows × cols), rows added in order.
    static func columnSums<T: KernelScalar>(_ a: UnsafePointer<T>, rows: Int, cols: Int) -> [T] {
        var out = [T](repeating: 0, count: cols)
        out.withUnsafeMutableBufferPointer { o in
            // UnsafeShared: a is only read; each range of columns writes its own sums.
            let (sa, so) = (UnsafeShared(a), UnsafeShared(o.baseAddress!))
            Backward.split(cols, grain: 64) { range in
                for r in 0..<rows {
                    let row = sa.pointer + r * cols
                    for c in range { so.pointer[c] += row[c] }
                }
            }
        }
        return out
    }

    /// out = add + rmsnorm backward of (x, dy), row by row
    /// (`txw_rmsnorm_backward_*`): dx = dy / s − x · (Σⱼ dyⱼ xⱼ) / (n · s³),
    /// s = √(mean(x²) + ε), both sums as the forward's rmsnorm sums (16
    /// interleaved partial sums, combined pairwise). `out` may alias `dy` or `add`.
    static func rmsnormAdding<T: KernelScalar>(
        x: UnsafePointer<T>, dy: UnsafePointer<T>, to add: UnsafePointer<T>, rows: Int, cols: Int, epsilon: T,
        out: UnsafeMutablePointer<T>
    ) {
        // UnsafeShared: each range of rows reads and writes only its own rows.
        let (sx, sdy, sadd, sout) = (UnsafeShared(x), UnsafeShared(dy), UnsafeShared(add), UnsafeShared(out))
        Backward.split(rows, grain: 64) { range in
            let first = range.lowerBound * cols
            let (xr, dr, ar, or) = (sx.pointer + first, sdy.pointer + first, sadd.pointer + first, sout.pointer + first)
            if T.self == Float.self {
                txw_rmsnorm_backward_f32(range.count, cols, UnsafeRawPointer(xr).assumingMemoryBound(to: Float.self),
                                         UnsafeRawPointer(dr).assumingMemoryBound(to: Float.self),
                                         UnsafeRawPointer(ar).assumingMemoryBound(to: Float.self), Float(epsilon),
                                         UnsafeMutableRawPointer(or).assumingMemoryBound(to: Float.self))
                return
            }
            if T.self == Double.self {
                txw_rmsnorm_backward_f64(range.count, cols, UnsafeRawPointer(xr).assumingMemoryBound(to: Double.self),
                                         UnsafeRawPointer(dr).assumingMemoryBound(to: Double.self),
                                         UnsafeRawPointer(ar).assumingMemoryBound(to: Double.self), Double(epsilon),
                                         UnsafeMutableRawPointer(or).assumingMemoryBound(to: Double.self))
                return
            }
            let n = T(cols)
            for r in 0..<range.count {
                let (xr, dr, ar, or) = (xr + r * cols, dr + r * cols, ar + r * cols, or + r * cols)
                var squares: T = 0
                var dot: T = 0
                for c in 0..<cols {
                    squares += xr[c] * xr[c]
                    dot += dr[c] * xr[c]
                }
                let s = (squares / n + epsilon).squareRoot()
                let k = dot / (n * s * s * s)
                for c in 0..<cols { or[c] = ar[c] + (dr[c] / s - xr[c] * k) }
            }
        }
    }

    /// The score gradient of one head's causal attention (`txw_attention_backward_*`), in place over dp.
    static func attentionScores<T: KernelScalar>(p: UnsafePointer<T>, dp: UnsafeMutablePointer<T>, rows: Int, scale: T) {
        if T.self == Float.self {
            txw_attention_backward_f32(UnsafeRawPointer(p).assumingMemoryBound(to: Float.self),
                                       UnsafeMutableRawPointer(dp).assumingMemoryBound(to: Float.self), rows, rows, 0, Float(scale))
        } else if T.self == Double.self {
            txw_attention_backward_f64(UnsafeRawPointer(p).assumingMemoryBound(to: Double.self),
                                       UnsafeMutableRawPointer(dp).assumingMemoryBound(to: Double.self), rows, rows, 0, Double(scale))
        } else {
            for i in 0..<rows {
                var dot: T = 0
                for l in 0..<rows { dot += p[i * rows + l] * dp[i * rows + l] }
                for l in 0..<rows { dp[i * rows + l] = l <= i ? p[i * rows + l] * (dp[i * rows + l] - dot) / scale : 0 }
            }
        }
    }
}
