import RealModule
import Synchronization

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
    /// Positions below `PositionTable.keptRows` come from the float64 table kept
    /// per (d_model, base), grown geometrically; later positions are computed
    /// for the call, row by row, so each call costs O(rows · d_model) at any position.
    @usableFromInline
    static func addPositions<T: KernelScalar>(
        rows: Int, firstPosition: Int, dModel: Int, base: Double, into x: UnsafeMutablePointer<T>
    ) {
        var rowsComputed = 0
        addPositions(rows: rows, firstPosition: firstPosition, dModel: dModel, base: base, into: x, rowsComputed: &rowsComputed)
    }

    /// `addPositions`, adding to `rowsComputed` the table rows computed for the call (for tests that count work).
    static func addPositions<T: KernelScalar>(
        rows: Int, firstPosition: Int, dModel: Int, base: Double, into x: UnsafeMutablePointer<T>, rowsComputed: inout Int
    ) {
        guard rows > 0 else { return }
        let end = firstPosition + rows
        let tabled = max(0, min(end, PositionTable.keptRows) - firstPosition)
        if tabled > 0 {
            let table = PositionTable.rows(firstPosition + tabled, dModel: dModel, base: base, rowsComputed: &rowsComputed)
            table.withUnsafeBufferPointer { pe in
                let start = firstPosition * dModel
                for i in 0..<(tabled * dModel) { x[i] = T(Double(x[i]) + pe[start + i]) }
            }
        }
        if tabled < rows {
            let first = firstPosition + tabled
            let pe = PositionTable.compute(from: first, count: rows - tabled, dModel: dModel, base: base)
            rowsComputed += rows - tabled
            let offset = tabled * dModel
            for i in 0..<((rows - tabled) * dModel) { x[offset + i] = T(Double(x[offset + i]) + pe[i]) }
        }
    }
}

/// The sinusoidal positions in float64: row p, column 2c is
/// `sin(p / base^(2c/d_model))`, column 2c+1 its cosine. The first
/// `keptRows` rows are kept per (d_model, base), shared and grown
/// geometrically (so feeding positions one by one costs O(1) rows each,
/// amortized); rows beyond are computed on demand and not kept.
enum PositionTable {
    private struct Key: Hashable { let dModel: Int; let base: UInt64 }
    private static let tables = Mutex<[Key: [Double]]>([:])
    /// Rows beyond this are computed for the call and not kept.
    static let keptRows = 1 << 14

    /// A table holding at least `count` rows for `dModel` and `base`.
    static func rows(_ count: Int, dModel: Int, base: Double) -> [Double] {
        var rowsComputed = 0
        return rows(count, dModel: dModel, base: base, rowsComputed: &rowsComputed)
    }

    /// `rows(_:dModel:base:)`, adding to `rowsComputed` the rows computed.
    static func rows(_ count: Int, dModel: Int, base: Double, rowsComputed: inout Int) -> [Double] {
        let key = Key(dModel: dModel, base: base.bitPattern)
        let existing = tables.withLock { $0[key] }
        if let existing, existing.count >= count * dModel { return existing }
        // Grow geometrically up to keptRows, so feeding positions one by one stays linear.
        let grown = count > keptRows ? count : min(max(count, 2 * (existing?.count ?? 0) / dModel, 64), keptRows)
        let table = compute(from: 0, count: grown, dModel: dModel, base: base)
        rowsComputed += grown
        if count <= keptRows { tables.withLock { $0[key] = table } }
        return table
    }

    /// Rows `first ..< first + count` of the table, (count, d_model).
    static func compute(from first: Int, count: Int, dModel: Int, base: Double) -> [Double] {
        let half = dModel / 2
        // base > 1 (validated), so this is the C library's pow.
        let divisors = (0..<half).map { Double.pow(base, Double(2 * $0) / Double(dModel)) }
        var table = [Double](repeating: 0, count: count * dModel)
        for r in 0..<count {
            let p = first + r
            for c in 0..<half {
                let angle = Double(p) / divisors[c]
                table[r * dModel + 2 * c] = Double.sin(angle)
                table[r * dModel + 2 * c + 1] = Double.cos(angle)
            }
        }
        return table
    }
}
