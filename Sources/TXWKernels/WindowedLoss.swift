/// The loss of a sequence evaluated in windows of at most `context` tokens
/// (`TransformerWeights.loss(for:context:stride:configuration:)`).
public struct WindowedLoss: Sendable, Equatable {
    /// The mean next-token loss over all n − 1 targets, in float64.
    public let loss: Double
    /// The number of windows the sequence was evaluated in (1 when n ≤ context).
    public let windows: Int
    /// The first position (0-based, in the whole sequence) whose logits give
    /// a next-token loss term that is not finite (NaN or ±inf); nil when every term is finite.
    public let firstNonFinitePosition: Int?

    /// A loss, its window count, and the first position with a non-finite term.
    public init(loss: Double, windows: Int, firstNonFinitePosition: Int? = nil) {
        self.loss = loss
        self.windows = windows
        self.firstNonFinitePosition = firstNonFinitePosition
    }
}

extension TransformerWeights {
    /// The mean next-token loss of n ≥ 2 tokens with the model seeing at most
    /// `context` tokens at a time (Spec/kernels.md, "Windowed loss").
    ///
    /// Windows start at b = 0, S, 2S, … (S = `stride`) and cover tokens
    /// [b, min(b + C, n)) (C = `context`), positions counted from 0 within
    /// each window; the walk stops after the window that reaches n. The
    /// window at b scores the targets j (1 ≤ j ≤ n − 1) with
    /// max(e_prev, b + 1) ≤ j < e, where e is its end and e_prev the previous
    /// window's end (0 for the first), each from its own logits at position
    /// j − 1 − b, as `loss(for:)` does: `logsumexp(row) − row[token j]` in
    /// float64. The result is the mean over all n − 1 targets, added in
    /// target order. With n ≤ C it is `loss(for:)`, bit for bit.
    ///
    /// One window is computed at a time, its logits a chunk of rows at a
    /// time: memory is `lossMemoryNeed(tokens:context:threads:)`, bounded by
    /// C, not n, and never n × V. Throws for fewer than 2 tokens, a token
    /// outside the vocabulary, C < 2, or a stride outside 1 … C − 1.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func loss(
        for tokens: [Int], context: Int, stride: Int, configuration: KernelConfiguration = .default
    ) throws -> WindowedLoss {
        guard context >= 2 else {
            throw KernelError.invalidArgument(
                name: "context", value: "\(context)", requirement: "must be ≥ 2 for the loss (a window of C tokens scores C − 1 targets)")
        }
        guard stride >= 1, stride <= context - 1 else {
            throw KernelError.invalidArgument(
                name: "stride", value: "\(stride)", requirement: "must be 1 … context − 1 = \(context - 1)")
        }
        try Kernels.checkTokens(tokens, vocabSize: hyperparameters.vocabSize, minimum: 2, what: "loss")
        return configuration.applied { windowedLoss(tokens, context: context, stride: stride, chunkRows: lossChunkRows) }
    }

    /// `loss(for:context:stride:configuration:)` of the model with
    /// `ablation` applied; a mean ablation's means are over each window's
    /// own positions (Spec/cli.md, "Ablations"). Also throws for an
    /// ablation outside the model.
    public func loss(
        for tokens: [Int], context: Int, stride: Int, ablation: Ablation, configuration: KernelConfiguration = .default
    ) throws -> WindowedLoss {
        try ablation.validate(against: hyperparameters)
        guard context >= 2, stride >= 1, stride <= context - 1 else {
            return try loss(for: tokens, context: context, stride: stride, configuration: configuration)
        }
        try Kernels.checkTokens(tokens, vocabSize: hyperparameters.vocabSize, minimum: 2, what: "loss")
        return configuration.applied {
            windowedLoss(tokens, context: context, stride: stride, chunkRows: lossChunkRows, ablation: ablation)
        }
    }

    /// The windowed loss, unchecked (n ≥ 2 valid tokens, C ≥ 2, 1 ≤ S < C
    /// unless C ≥ n), with logits `chunkRows` rows at a time and the calling
    /// thread's configuration.
    package func windowedLoss(_ tokens: [Int], context C: Int, stride S: Int, chunkRows: Int, ablation: Ablation? = nil) -> WindowedLoss {
        let (n, d, V) = (tokens.count, hyperparameters.dModel, hyperparameters.vocabSize)
        let width = min(C, n)
        let chunk = max(1, min(chunkRows, width - 1))
        let hidden = UnsafeMutablePointer<Scalar>.allocate(capacity: width * d)
        defer { hidden.deallocate() }
        let logits = UnsafeMutablePointer<Scalar>.allocate(capacity: chunk * V)
        defer { logits.deallocate() }
        var terms = [Double](repeating: 0, count: width)
        var total = 0.0, windows = 0
        var firstNonFinite: Int?
        var (b, previousEnd) = (0, 0)
        unembedding.withUnsafeBufferPointer { u in
            while true {
                let e = min(b + C, n)
                let window = Array(tokens[b..<e])
                if let ablation {
                    RecordedForward.run(self, tokens: window, logits: nil, hidden: hidden, recorder: nil, ablation: ablation)
                } else {
                    SequenceForward.run(self, tokens: window, logits: nil, hidden: hidden)
                }
                windows += 1
                // Targets first..<e, from this window's rows j − 1 − b.
                let first = max(previousEnd, b + 1)
                let (r0, r1) = (first - 1 - b, e - 1 - b)
                for c0 in Swift.stride(from: r0, to: r1, by: chunk) {
                    let rows = min(chunk, r1 - c0)
                    Gemm.multiply(m: rows, n: V, k: d, a: hidden + c0 * d, lda: d, b: u.baseAddress!, ldb: V, c: logits, ldc: V)
                    Kernels.nextTokenLossTerms(
                        logits: UnsafePointer(logits), rows: rows, vocabSize: V, tokens: window, firstRow: c0, into: &terms)
                }
                // Added in target order: the order of the whole-sequence loss.
                for r in r0..<r1 {
                    total += terms[r]
                    if firstNonFinite == nil && !terms[r].isFinite { firstNonFinite = b + r }
                }
                if e == n { break }
                previousEnd = e
                b += S
            }
        }
        return WindowedLoss(loss: total / Double(n - 1), windows: windows, firstNonFinitePosition: firstNonFinite)
    }
}
