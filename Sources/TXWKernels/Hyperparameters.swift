/// The shape of a notebook transformer: what `W_E` and every block must measure.
public struct Hyperparameters: Sendable, Equatable {
    /// V, the number of tokens: rows of `W_E`.
    public var vocabSize: Int
    /// d_model, the width of the residual stream (even).
    public var dModel: Int
    /// n_head, attention heads per block.
    public var nHead: Int
    /// d_head, the width of each head.
    public var dHead: Int
    /// d_mlp, the width of the MLP's hidden layer.
    public var dMLP: Int
    /// n_block, the number of blocks (0 allowed).
    public var nBlock: Int
    /// The ε, positional base and mask value the kernels use.
    public var constants: KernelConstants

    /// The given values, unchecked until `validate()` (which every model initialiser calls).
    public init(
        vocabSize: Int, dModel: Int, nHead: Int, dHead: Int, dMLP: Int, nBlock: Int,
        constants: KernelConstants = .notebook
    ) {
        self.vocabSize = vocabSize
        self.dModel = dModel
        self.nHead = nHead
        self.dHead = dHead
        self.dMLP = dMLP
        self.nBlock = nBlock
        self.constants = constants
    }

    /// The largest value any single hyperparameter may take (2^24). It keeps
    /// every product of two of them far inside `Int`, and is far above any toy.
    public static let maximumDimension = 1 << 24

    /// Checks every value: each ≥ 1 (n_block ≥ 0) and ≤ `maximumDimension`,
    /// d_model even (the positional embedding pairs sin/cos columns), and every
    /// tensor's element count representable.
    public func validate() throws {
        let named: [(String, Int, Int)] = [
            ("vocab_size", vocabSize, 1), ("d_model", dModel, 1), ("n_head", nHead, 1),
            ("d_head", dHead, 1), ("d_mlp", dMLP, 1), ("n_block", nBlock, 0),
        ]
        for (name, value, minimum) in named {
            guard value >= minimum, value <= Self.maximumDimension else {
                throw KernelError.invalidArgument(
                    name: name, value: "\(value)",
                    requirement: "must be in \(minimum)...\(Self.maximumDimension)")
            }
        }
        guard dModel % 2 == 0 else {
            throw KernelError.invalidArgument(
                name: "d_model", value: "\(dModel)",
                requirement: "must be even (sinusoidal positions fill sin/cos column pairs)")
        }
        // Element counts and the parameter total, overflow-checked without
        // enumerating the n_block · 8 tensors (n_block may be 2^24).
        var perBlock = 0
        for (field, shape) in blockShapes() {
            let count = try Tensor<Double>.elementCount(of: shape, what: "blocks.i.\(field)")
            let (sum, overflow) = perBlock.addingReportingOverflow(count)
            guard !overflow else { throw KernelError.invalidDimension(what: "model", detail: "parameter count overflows Int") }
            perBlock = sum
        }
        let embedding = try Tensor<Double>.elementCount(of: [vocabSize, dModel], what: "W_E")
        let (blocksTotal, o1) = perBlock.multipliedReportingOverflow(by: nBlock)
        let (_, o2) = embedding.addingReportingOverflow(blocksTotal)
        guard !o1, !o2 else { throw KernelError.invalidDimension(what: "model", detail: "parameter count overflows Int") }
        try constants.validate()
    }

    /// The shape of every tensor of a model, in file order: `W_E`, then
    /// `blocks.{i}.{W_1, b_1, W_2, b_2, W_Q, W_K, W_V, W_O}`.
    public func tensorShapes() -> [(name: String, shape: [Int])] {
        var shapes: [(String, [Int])] = [("W_E", [vocabSize, dModel])]
        for i in 0..<max(nBlock, 0) {
            for (field, shape) in blockShapes() {
                shapes.append(("blocks.\(i).\(field)", shape))
            }
        }
        return shapes
    }

    /// The shapes of one block's parameters, in the notebook's `BlockParameter` order.
    public func blockShapes() -> [(field: String, shape: [Int])] {
        [
            ("W_1", [dModel, dMLP]), ("b_1", [dMLP]), ("W_2", [dMLP, dModel]), ("b_2", [dModel]),
            ("W_Q", [dModel, dHead, nHead]), ("W_K", [dModel, dHead, nHead]),
            ("W_V", [dModel, dHead, nHead]), ("W_O", [nHead.multipliedReportingOverflow(by: dHead).partialValue, dModel]),
        ]
    }

    /// The number of scalars over all tensors (`Int.max` if it would overflow,
    /// which `validate()` rejects).
    public var parameterCount: Int {
        let count = CheckedBytes.product(of:)
        var perBlock = 0
        for (_, shape) in blockShapes() {
            guard let c = count(shape) else { return .max }
            let (s, o) = perBlock.addingReportingOverflow(c)
            guard !o else { return .max }
            perBlock = s
        }
        guard let embedding = count([vocabSize, dModel]) else { return .max }
        let (blocks, o1) = perBlock.multipliedReportingOverflow(by: max(nBlock, 0))
        let (total, o2) = embedding.addingReportingOverflow(blocks)
        return o1 || o2 ? .max : total
    }
}
