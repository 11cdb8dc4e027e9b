import RealModule
import CTXWKernels

/// The backward pass of the notebook's model: the gradient of the loss
/// (Spec/kernels.md, "loss") with respect to every parameter, by the chain
/// rule through each kernel (Spec/kernels.md, "Gradients"). Each kernel's
/// backward is a function of its own here, checked against central finite
/// differences in the tests; `lossAndGradients` chains them.
///
/// Plain loops on row-major arrays: this is the reference the fast training
/// path will be measured against, not the fast path itself. The functions
/// are unchecked (shapes are the caller's); the public entry point is the
/// checked `TransformerWeights.lossAndGradients(for:configuration:)`.
package enum Backward {
    // MARK: Elementwise and row kernels

    /// rmsnorm backward, row by row: y = x / s, s = √(mean(x²) + ε):
    /// dx = dy / s − x · (Σⱼ dyⱼ xⱼ) / (n · s³).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func rmsnorm<T: KernelScalar>(x: [T], dy: [T], cols: Int, epsilon: Double) -> [T] {
        var dx = [T](repeating: 0, count: x.count)
        let n = T(cols)
        for r in 0..<(x.count / cols) {
            let row = r * cols
            var squares: T = 0
            var dot: T = 0
            for c in 0..<cols {
                squares += x[row + c] * x[row + c]
                dot += dy[row + c] * x[row + c]
            }
            let s = (squares / n + T(epsilon)).squareRoot()
            for c in 0..<cols {
                dx[row + c] = dy[row + c] / s - x[row + c] * dot / (n * s * s * s)
            }
        }
        return dx
    }

    /// GELU (tanh approximation) backward: dx = dy · gelu′(x), with
    /// gelu′(x) = 0.5(1 + tanh u) + 0.5x(1 − tanh² u)·c(1 + 3·0.044715x²), u = c(x + 0.044715x³).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func gelu<T: KernelScalar>(x: [T], dy: [T]) -> [T] {
        if T.self == Float.self || T.self == Double.self {
            // The C kernel: tanh as in the forward pass's GELU (vectorised exp).
            return [T](unsafeUninitializedCapacity: x.count) { out, initialized in
                x.withUnsafeBufferPointer { xb in dy.withUnsafeBufferPointer { db in
                    guard let xp = xb.baseAddress, let dp = db.baseAddress, let op = out.baseAddress else { return }
                    if T.self == Float.self {
                        txw_gelu_backward_f32(UnsafeRawPointer(xp).assumingMemoryBound(to: Float.self),
                                              UnsafeRawPointer(dp).assumingMemoryBound(to: Float.self),
                                              UnsafeMutableRawPointer(op).assumingMemoryBound(to: Float.self), x.count)
                    } else {
                        txw_gelu_backward_f64(UnsafeRawPointer(xp).assumingMemoryBound(to: Double.self),
                                              UnsafeRawPointer(dp).assumingMemoryBound(to: Double.self),
                                              UnsafeMutableRawPointer(op).assumingMemoryBound(to: Double.self), x.count)
                    }
                }}
                initialized = x.count
            }
        }
        return (0..<x.count).map { i in dy[i] * Kernels.geluDerivative(x[i]) }
    }

    /// Softmax backward over rows of `p = softmax(s)`: ds = p ⊙ (dp − Σⱼ dpⱼ pⱼ).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func softmax<T: KernelScalar>(p: [T], dp: [T], cols: Int) -> [T] {
        var ds = [T](repeating: 0, count: p.count)
        for r in 0..<(p.count / cols) {
            let row = r * cols
            var dot: T = 0
            for c in 0..<cols { dot += dp[row + c] * p[row + c] }
            for c in 0..<cols { ds[row + c] = p[row + c] * (dp[row + c] - dot) }
        }
        return ds
    }

    // MARK: Products

    /// C = A·B for A (m×k), B (k×n), through the kernels' GEMM.
    static func matmul<T: KernelScalar>(_ a: [T], _ b: [T], m: Int, k: Int, n: Int) -> [T] {
        var c = [T](repeating: 0, count: m * n)
        guard m > 0, n > 0 else { return c }
        a.withUnsafeBufferPointer { ab in b.withUnsafeBufferPointer { bb in c.withUnsafeMutableBufferPointer { cb in
            guard let ap = ab.baseAddress, let bp = bb.baseAddress, let cp = cb.baseAddress else { return }
            Gemm.multiply(m: m, n: n, k: k, a: ap, lda: k, b: bp, ldb: n, c: cp, ldc: n)
        }}}
        return c
    }

    /// Aᵀ (k×m) of A (m×k), in 16 × 16 tiles (both sides stay in cache).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func transpose<T: KernelScalar>(_ a: [T], rows: Int, cols: Int) -> [T] {
        [T](unsafeUninitializedCapacity: rows * cols) { t, initialized in
            a.withUnsafeBufferPointer { src in
                guard let s = src.baseAddress, let d = t.baseAddress else { return }
                for r0 in stride(from: 0, to: rows, by: 16) {
                    for c0 in stride(from: 0, to: cols, by: 16) {
                        for r in r0..<min(r0 + 16, rows) {
                            for c in c0..<min(c0 + 16, cols) { (d + c * rows + r).initialize(to: s[r * cols + c]) }
                        }
                    }
                }
            }
            initialized = rows * cols
        }
    }

    // MARK: MLP

    /// The gradients of `mlp` (x·W_1 + b_1 → gelu → ·W_2 + b_2) for upstream `dout` (m×d).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func mlp<T: KernelScalar>(
        x: [T], m: Int, W_1: Tensor<T>, b_1: Tensor<T>, W_2: Tensor<T>, dout: [T]
    ) -> (dx: [T], dW_1: [T], db_1: [T], dW_2: [T], db_2: [T]) {
        let (d, f) = (W_1.shape[0], W_1.shape[1])
        var hidden = matmul(x, W_1.scalars, m: m, k: d, n: f)
        for i in 0..<m { for j in 0..<f { hidden[i * f + j] += b_1.scalars[j] } }
        var activated = hidden
        activated.withUnsafeMutableBufferPointer { a in
            if let base = a.baseAddress { Gemm.geluInPlace(base, count: a.count) }
        }
        let dW_2 = matmul(transpose(activated, rows: m, cols: f), dout, m: f, k: m, n: d)
        var db_2 = [T](repeating: 0, count: d)
        for i in 0..<m { for j in 0..<d { db_2[j] += dout[i * d + j] } }
        let dActivated = matmul(dout, transpose(W_2.scalars, rows: f, cols: d), m: m, k: d, n: f)
        let dHidden = gelu(x: hidden, dy: dActivated)
        let dW_1 = matmul(transpose(x, rows: m, cols: d), dHidden, m: d, k: m, n: f)
        var db_1 = [T](repeating: 0, count: f)
        for i in 0..<m { for j in 0..<f { db_1[j] += dHidden[i * f + j] } }
        let dx = matmul(dHidden, transpose(W_1.scalars, rows: d, cols: f), m: m, k: f, n: d)
        return (dx, dW_1, db_1, dW_2, db_2)
    }

    // MARK: Attention

    /// The gradients of causal multi-head `attention` for upstream `dout` (m×d).
    /// The masked scores are the constant mask value: no gradient flows into them.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func attention<T: KernelScalar>(
        x: [T], m: Int, W_Q: Tensor<T>, W_K: Tensor<T>, W_V: Tensor<T>, W_O: Tensor<T>, maskValue: Double, dout: [T]
    ) -> (dx: [T], dW_Q: [T], dW_K: [T], dW_V: [T], dW_O: [T]) {
        let (d, dh, nh) = (W_Q.shape[0], W_Q.shape[1], W_Q.shape[2])
        let hd = dh * nh
        // Projections (m, dh·nh): column j·nh + h.
        let q = matmul(x, W_Q.scalars, m: m, k: d, n: hd)
        let k = matmul(x, W_K.scalars, m: m, k: d, n: hd)
        let v = matmul(x, W_V.scalars, m: m, k: d, n: hd)
        let scale = T(Double(dh).squareRoot())
        // Per head: Q_h, K_h, V_h (m, dh).
        var heads: [(q: [T], k: [T], v: [T])] = []
        for h in 0..<nh {
            var qh = [T](repeating: 0, count: m * dh), kh = qh, vh = qh
            for i in 0..<m {
                for j in 0..<dh {
                    qh[i * dh + j] = q[i * hd + j * nh + h]
                    kh[i * dh + j] = k[i * hd + j * nh + h]
                    vh[i * dh + j] = v[i * hd + j * nh + h]
                }
            }
            heads.append((qh, kh, vh))
        }
        var context = [T](repeating: 0, count: m * hd)  // column h·dh + j
        var weights: [[T]] = []
        for h in 0..<nh {
            // Scores Q_h·K_hᵀ / √dh (future positions at the mask value), softmaxed by row.
            var scores = matmul(heads[h].q, transpose(heads[h].k, rows: m, cols: dh), m: m, k: dh, n: m)
            for i in 0..<m {
                for l in 0..<m { scores[i * m + l] = l > i ? T(maskValue) : scores[i * m + l] / scale }
            }
            let p = (try? Kernels.softmax(Tensor(shape: [m, m], scalars: scores)).scalars) ?? scores
            weights.append(p)
            let ch = matmul(p, heads[h].v, m: m, k: m, n: dh)
            for i in 0..<m {
                for j in 0..<dh { context[i * hd + h * dh + j] = ch[i * dh + j] }
            }
        }
        let dW_O = matmul(transpose(context, rows: m, cols: hd), dout, m: hd, k: m, n: d)
        let dContext = matmul(dout, transpose(W_O.scalars, rows: hd, cols: d), m: m, k: d, n: hd)
        var dq = [T](repeating: 0, count: m * hd), dk = dq, dv = dq
        for h in 0..<nh {
            // This head's matrices: Q_h, K_h, V_h (m, dh) and dC_h (m, dh).
            let (qh, kh, vh) = heads[h]
            var dch = [T](repeating: 0, count: m * dh)
            for i in 0..<m {
                for j in 0..<dh { dch[i * dh + j] = dContext[i * hd + h * dh + j] }
            }
            let p = weights[h]
            let dp = matmul(dch, transpose(vh, rows: m, cols: dh), m: m, k: dh, n: m)      // dC_h · V_hᵀ
            let dvh = matmul(transpose(p, rows: m, cols: m), dch, m: m, k: m, n: dh)       // Pᵀ · dC_h
            var ds = softmax(p: p, dp: dp, cols: m)
            for i in 0..<m { for l in (i + 1)..<m { ds[i * m + l] = 0 } }  // masked: constants
            let dqh = matmul(ds, kh, m: m, k: m, n: dh)                                     // dS · K_h
            let dkh = matmul(transpose(ds, rows: m, cols: m), qh, m: m, k: m, n: dh)       // dSᵀ · Q_h
            for i in 0..<m {
                for j in 0..<dh {
                    dq[i * hd + j * nh + h] = dqh[i * dh + j] / scale
                    dk[i * hd + j * nh + h] = dkh[i * dh + j] / scale
                    dv[i * hd + j * nh + h] = dvh[i * dh + j]
                }
            }
        }
        let xT = transpose(x, rows: m, cols: d)
        let dW_Q = matmul(xT, dq, m: d, k: m, n: hd)
        let dW_K = matmul(xT, dk, m: d, k: m, n: hd)
        let dW_V = matmul(xT, dv, m: d, k: m, n: hd)
        var dx = matmul(dq, transpose(W_Q.scalars, rows: d, cols: hd), m: m, k: hd, n: d)
        let fromK = matmul(dk, transpose(W_K.scalars, rows: d, cols: hd), m: m, k: hd, n: d)
        let fromV = matmul(dv, transpose(W_V.scalars, rows: d, cols: hd), m: m, k: hd, n: d)
        for i in 0..<dx.count { dx[i] += fromK[i] + fromV[i] }
        return (dx, dW_Q, dW_K, dW_V, dW_O)
    }

    // MARK: Block and model

    /// The gradients of one pre-norm block for upstream `dout` (m×d).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func block<T: KernelScalar>(
        x: [T], m: Int, weights w: BlockWeights<T>, constants: KernelConstants, dout: [T]
    ) throws -> (dx: [T], gradients: BlockWeights<T>) {
        let d = w.W_Q.shape[0]
        let xn = try Kernels.rmsnorm(Tensor(shape: [m, d], scalars: x), epsilon: constants.rmsnormEpsilon).scalars
        let attended = try Kernels.attention(Tensor(shape: [m, d], scalars: xn), W_Q: w.W_Q, W_K: w.W_K, W_V: w.W_V,
                                             W_O: w.W_O, maskValue: constants.maskValue).scalars
        let r = zip(x, attended).map { $0 + $1 }
        let rn = try Kernels.rmsnorm(Tensor(shape: [m, d], scalars: r), epsilon: constants.rmsnormEpsilon).scalars
        // out = r + mlp(rn)
        let mlpGrads = mlp(x: rn, m: m, W_1: w.W_1, b_1: w.b_1, W_2: w.W_2, dout: dout)
        let dr = zip(dout, rmsnorm(x: r, dy: mlpGrads.dx, cols: d, epsilon: constants.rmsnormEpsilon)).map { $0 + $1 }
        // r = x + attention(xn)
        let attentionGrads = attention(x: xn, m: m, W_Q: w.W_Q, W_K: w.W_K, W_V: w.W_V, W_O: w.W_O,
                                       maskValue: constants.maskValue, dout: dr)
        let dx = zip(dr, rmsnorm(x: x, dy: attentionGrads.dx, cols: d, epsilon: constants.rmsnormEpsilon)).map { $0 + $1 }
        let g = BlockWeights(
            W_1: try Tensor(shape: w.W_1.shape, scalars: mlpGrads.dW_1), b_1: try Tensor(shape: w.b_1.shape, scalars: mlpGrads.db_1),
            W_2: try Tensor(shape: w.W_2.shape, scalars: mlpGrads.dW_2), b_2: try Tensor(shape: w.b_2.shape, scalars: mlpGrads.db_2),
            W_Q: try Tensor(shape: w.W_Q.shape, scalars: attentionGrads.dW_Q), W_K: try Tensor(shape: w.W_K.shape, scalars: attentionGrads.dW_K),
            W_V: try Tensor(shape: w.W_V.shape, scalars: attentionGrads.dW_V), W_O: try Tensor(shape: w.W_O.shape, scalars: attentionGrads.dW_O))
        return (dx, g)
    }

    /// The loss's gradient with respect to the logits (m×V): row i < m−1 is
    /// (softmax(yᵢ) − onehot(tokens[i+1])) / (m−1); the last row is 0.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package static func loss<T: KernelScalar>(logits: [T], vocabSize V: Int, tokens: [Int]) -> [T] {
        let m = tokens.count
        var dy = [T](repeating: 0, count: m * V)
        let count = Double(m - 1)
        for i in 0..<(m - 1) {
            var top = -Double.infinity
            for v in 0..<V { top = max(top, Double(logits[i * V + v])) }
            var sum = 0.0
            for v in 0..<V { sum += Double.exp(Double(logits[i * V + v]) - top) }
            for v in 0..<V {
                let p = Double.exp(Double(logits[i * V + v]) - top) / sum
                dy[i * V + v] = T((p - (v == tokens[i + 1] ? 1 : 0)) / count)
            }
        }
        return dy
    }
}

extension TransformerWeights {
    /// The loss for `tokens` (at least 2) and its gradient with respect to
    /// every parameter, in the shape of the weights (`W_E` collects both the
    /// embedding's and the tied unembedding's contributions), computed with
    /// `configuration`'s threads and instruction set.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func lossAndGradients(
        for tokens: [Int], configuration: KernelConfiguration = .default
    ) throws -> (loss: Double, gradients: TransformerWeights<Scalar>) {
        try Kernels.checkTokens(tokens, vocabSize: hyperparameters.vocabSize, minimum: 2, what: "loss")
        return try configuration.applied { try lossAndGradientsRaw(for: tokens) }
    }

    /// `lossAndGradients` for checked tokens, with the calling thread's configuration.
    private func lossAndGradientsRaw(for tokens: [Int]) throws -> (loss: Double, gradients: TransformerWeights<Scalar>) {
        let h = hyperparameters
        let (m, d, V) = (tokens.count, h.dModel, h.vocabSize)
        // Forward, keeping each block's input.
        var x = try Kernels.embed(tokens: tokens, W_E: W_E).scalars
        x.withUnsafeMutableBufferPointer { b in
            Kernels.addPositions(rows: m, firstPosition: 0, dModel: d, base: h.constants.positionalBase, into: b.baseAddress!)
        }
        var inputs: [[Scalar]] = []
        for block in blocks {
            inputs.append(x)
            x = try Kernels.block(Tensor(shape: [m, d], scalars: x), weights: block, constants: h.constants).scalars
        }
        let logits = Backward.matmul(x, W_E.scalars.isEmpty ? [] : Backward.transpose(W_E.scalars, rows: V, cols: d), m: m, k: d, n: V)
        let loss = Kernels.meanNextTokenLoss(logits: logits, vocabSize: V, tokens: tokens)
        // Backward.
        let dLogits = Backward.loss(logits: logits, vocabSize: V, tokens: tokens)
        var dW_E = Backward.matmul(Backward.transpose(dLogits, rows: m, cols: V), x, m: V, k: m, n: d)  // from the unembedding
        var dx = Backward.matmul(dLogits, W_E.scalars, m: m, k: V, n: d)
        var blockGradients: [BlockWeights<Scalar>] = []
        for (i, block) in blocks.enumerated().reversed() {
            let (dInput, g) = try Backward.block(x: inputs[i], m: m, weights: block, constants: h.constants, dout: dx)
            dx = dInput
            blockGradients.insert(g, at: 0)
        }
        for (i, token) in tokens.enumerated() {
            for c in 0..<d { dW_E[token * d + c] += dx[i * d + c] }
        }
        let gradients = try TransformerWeights(hyperparameters: h, W_E: Tensor(shape: [V, d], scalars: dW_E), blocks: blockGradients)
        return (loss, gradients)
    }
}
