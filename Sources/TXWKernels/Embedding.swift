extension Kernels {
    /// `W_E[tokens]`: row `tokens[i]` of `W_E` (V, d_model) for each i → (m, d_model).
    public static func embed<T>(tokens: [Int], W_E: Tensor<T>) throws -> Tensor<T> {
        guard W_E.rank == 2 else {
            throw KernelError.invalidDimension(what: "W_E", detail: "rank is \(W_E.rank), expected 2")
        }
        try checkTokens(tokens, vocabSize: W_E.shape[0])
        let d = W_E.shape[1]
        var out = [T](repeating: 0, count: tokens.count * d)
        for (i, token) in tokens.enumerated() {
            out.replaceSubrange(i * d..<(i + 1) * d, with: W_E.scalars[token * d..<(token + 1) * d])
        }
        return Tensor(uncheckedShape: [tokens.count, d], scalars: out)
    }

    /// Throws for an empty sequence or a token outside `0..<vocabSize`.
    static func checkTokens(_ tokens: [Int], vocabSize: Int, minimum: Int = 1, what: String = "input") throws {
        guard tokens.count >= minimum else {
            throw KernelError.sequenceTooShort(what: what, minimum: minimum, found: tokens.count)
        }
        for (i, t) in tokens.enumerated() where t < 0 || t >= vocabSize {
            throw KernelError.tokenOutOfRange(position: i, token: t, vocabSize: vocabSize)
        }
    }

    /// The sinusoidal positions (m, d_model): column 2c of row i holds
    /// `sin(i / base^(2c/d_model))` and column 2c+1 its cosine, computed in
    /// float64 and rounded once to `T`.
    public static func positionalEmbedding<T: KernelScalar>(
        m: Int, dModel: Int, base: Double = KernelConstants.notebook.positionalBase, as: T.Type = T.self
    ) throws -> Tensor<T> {
        guard m >= 0, m <= Hyperparameters.maximumDimension else {
            throw KernelError.invalidArgument(name: "m", value: "\(m)", requirement: "must be in 0...\(Hyperparameters.maximumDimension)")
        }
        guard dModel >= 2, dModel % 2 == 0, dModel <= Hyperparameters.maximumDimension else {
            throw KernelError.invalidArgument(name: "d_model", value: "\(dModel)", requirement: "must be even and in 2...\(Hyperparameters.maximumDimension)")
        }
        try KernelConstants(rmsnormEpsilon: 0, positionalBase: base, maskValue: 0).validate()
        var out = [T](repeating: 0, count: m * dModel)
        out.withUnsafeMutableBufferPointer { buffer in
            guard let base_ = buffer.baseAddress else { return }  // m == 0
            addPositions(rows: m, firstPosition: 0, dModel: dModel, base: base, into: base_)
        }
        return Tensor(uncheckedShape: [m, dModel], scalars: out)
    }

    /// Adds the positions `firstPosition ..< firstPosition + rows` to `x` (rows, d_model)
    /// in float64: `x = T(Double(x) + pe)`; adding to zeros gives `T(pe)`.
    @usableFromInline
    static func addPositions<T: KernelScalar>(
        rows: Int, firstPosition: Int, dModel: Int, base: Double, into x: UnsafeMutablePointer<T>
    ) {
        let half = dModel / 2
        var divisor = [Double](repeating: 0, count: half)
        for c in 0..<half {
            divisor[c] = Math.pow(base, Double(2 * c) / Double(dModel))
        }
        for r in 0..<rows {
            let position = Double(firstPosition + r)
            let row = x + r * dModel
            for c in 0..<half {
                let angle = position / divisor[c]
                row[2 * c] = T(Double(row[2 * c]) + Math.sin(angle))
                row[2 * c + 1] = T(Double(row[2 * c + 1]) + Math.cos(angle))
            }
        }
    }
}
