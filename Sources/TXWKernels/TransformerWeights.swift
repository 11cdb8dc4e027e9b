/// A whole notebook transformer: hyperparameters, the embedding `W_E`
/// (V, d_model), tied to the unembedding, and `n_block` blocks.
///
/// The initialiser checks every shape against the hyperparameters, so a value
/// of this type can be run by the kernels without further checks.
public struct TransformerWeights<Scalar: KernelScalar>: Sendable, Equatable {
    /// The shape every tensor was checked against.
    public let hyperparameters: Hyperparameters
    /// The embedding, (V, d_model); tied: the unembedding is its transpose.
    public let W_E: Tensor<Scalar>
    /// The n_block blocks, in order.
    public let blocks: [BlockWeights<Scalar>]
    /// `W_Eᵀ` (d_model, V), kept so the unembedding is a plain product.
    let unembedding: [Scalar]
    /// Per block, `[W_Q | W_K | W_V]` as one (d_model, 3·n_head·d_head)
    /// matrix, heads contiguous (`fused`), so the three projections are one product.
    let fusedQKV: [[Scalar]]
    /// The weights packed for the GEMM, made on the first long enough
    /// sequence forward of a large model (`PackedForwardWeights`).
    let forwardPacks = ForwardPackCache()

    /// Validates `hyperparameters` (and that its constants keep their meaning
    /// in `Scalar`: `KernelConstants.validate(as:)`) and every tensor's shape;
    /// the error names the first tensor that is wrong (`W_E`, `blocks.1.W_O`, …).
    public init(hyperparameters: Hyperparameters, W_E: Tensor<Scalar>, blocks: [BlockWeights<Scalar>]) throws {
        try hyperparameters.validate()
        try hyperparameters.constants.validate(as: Scalar.self)
        let h = hyperparameters
        guard W_E.shape == [h.vocabSize, h.dModel] else {
            throw KernelError.shapeMismatch(what: "W_E", expected: [h.vocabSize, h.dModel], found: W_E.shape)
        }
        guard blocks.count == h.nBlock else {
            throw KernelError.invalidArgument(
                name: "blocks", value: "\(blocks.count) blocks", requirement: "n_block is \(h.nBlock)")
        }
        for (i, block) in blocks.enumerated() {
            try block.validate(against: h, prefix: "blocks.\(i).")
        }
        self.hyperparameters = h
        self.W_E = W_E
        self.blocks = blocks
        self.unembedding = Self.transposed(W_E)
        self.fusedQKV = blocks.map(Self.fused)
    }

    /// Infers the hyperparameters from the shapes (V and d_model from `W_E`,
    /// d_head, n_head from `W_Q`, d_mlp from `W_1` of block 0) and validates
    /// everything against them, as the notebook's `transformer` would need.
    public init(W_E: Tensor<Scalar>, blocks: [BlockWeights<Scalar>], constants: KernelConstants = .notebook) throws {
        guard W_E.rank == 2 else {
            throw KernelError.invalidDimension(what: "W_E", detail: "rank is \(W_E.rank), expected 2 (vocab_size, d_model)")
        }
        var dHead = 1, nHead = 1, dMLP = 1
        if let first = blocks.first {
            do {
                (_, dHead, nHead, dMLP) = try first.inferredShape()
            } catch let KernelError.invalidDimension(what, detail) {
                throw KernelError.invalidDimension(what: "blocks.0." + what, detail: detail)
            }
        }
        let h = Hyperparameters(
            vocabSize: W_E.shape[0], dModel: W_E.shape[1], nHead: nHead, dHead: dHead, dMLP: dMLP,
            nBlock: blocks.count, constants: constants)
        try self.init(hyperparameters: h, W_E: W_E, blocks: blocks)
    }

    /// The same model with every value converted to `Other` (rounded to nearest).
    public func converted<Other: KernelScalar>(to: Other.Type = Other.self) -> TransformerWeights<Other> {
        TransformerWeights<Other>(
            unchecked: hyperparameters, W_E: W_E.converted(), blocks: blocks.map { $0.converted() })
    }

    init(unchecked hyperparameters: Hyperparameters, W_E: Tensor<Scalar>, blocks: [BlockWeights<Scalar>]) {
        self.hyperparameters = hyperparameters
        self.W_E = W_E
        self.blocks = blocks
        self.unembedding = Self.transposed(W_E)
        self.fusedQKV = blocks.map(Self.fused)
    }

    /// `[W_Q | W_K | W_V]` of one block, (d_model, 3·n_head·d_head), with the
    /// columns of each part in head-major order: column `h·d_head + j` of a
    /// part is the notebook's `W[:, j, h]`, so each head's queries, keys and
    /// values are contiguous in a row of the product.
    static func fused(_ block: BlockWeights<Scalar>) -> [Scalar] {
        fusedHeadMajor(W_Q: block.W_Q.scalars, W_K: block.W_K.scalars, W_V: block.W_V.scalars,
                       dModel: block.W_Q.shape[0], dHead: block.W_Q.shape[1], nHead: block.W_Q.shape[2])
    }

    static func fusedHeadMajor(W_Q: [Scalar], W_K: [Scalar], W_V: [Scalar], dModel d: Int, dHead: Int, nHead: Int) -> [Scalar] {
        let hd = dHead * nHead
        var out = [Scalar](repeating: 0, count: d * 3 * hd)
        for r in 0..<d {
            for (part, w) in [W_Q, W_K, W_V].enumerated() {
                for h in 0..<nHead {
                    for j in 0..<dHead {
                        out[r * 3 * hd + part * hd + h * dHead + j] = w[r * hd + j * nHead + h]
                    }
                }
            }
        }
        return out
    }

    /// The transpose of a (rows, cols) matrix.
    static func transposed(_ t: Tensor<Scalar>) -> [Scalar] {
        let (rows, cols) = (t.shape[0], t.shape[1])
        var out = [Scalar](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            for c in 0..<cols { out[c * rows + r] = t.scalars[r * cols + c] }
        }
        return out
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.hyperparameters == b.hyperparameters && a.W_E == b.W_E && a.blocks == b.blocks
    }
}
