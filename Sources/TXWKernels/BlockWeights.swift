/// One pre-norm block's parameters, named and shaped as the notebook's
/// `BlockParameter`: `W_1 (d_model, d_mlp)`, `b_1 (d_mlp)`, `W_2 (d_mlp, d_model)`,
/// `b_2 (d_model)`, `W_Q`/`W_K`/`W_V (d_model, d_head, n_head)` and
/// `W_O (n_head·d_head, d_model)` with row index `h·d_head + j`.
public struct BlockWeights<Scalar: KernelScalar>: Sendable, Equatable {
    /// The MLP's first matrix, (d_model, d_mlp).
    public var W_1: Tensor<Scalar>
    /// The MLP's first bias, (d_mlp).
    public var b_1: Tensor<Scalar>
    /// The MLP's second matrix, (d_mlp, d_model).
    public var W_2: Tensor<Scalar>
    /// The MLP's second bias, (d_model).
    public var b_2: Tensor<Scalar>
    /// The queries' projection, (d_model, d_head, n_head).
    public var W_Q: Tensor<Scalar>
    /// The keys' projection, (d_model, d_head, n_head).
    public var W_K: Tensor<Scalar>
    /// The values' projection, (d_model, d_head, n_head).
    public var W_V: Tensor<Scalar>
    /// The output projection, (n_head·d_head, d_model), row `h·d_head + j` for head h.
    public var W_O: Tensor<Scalar>

    /// A block from its eight tensors. Their shapes are checked against the hyperparameters when the block joins a `TransformerWeights`.
    public init(
        W_1: Tensor<Scalar>, b_1: Tensor<Scalar>, W_2: Tensor<Scalar>, b_2: Tensor<Scalar>,
        W_Q: Tensor<Scalar>, W_K: Tensor<Scalar>, W_V: Tensor<Scalar>, W_O: Tensor<Scalar>
    ) {
        self.W_1 = W_1
        self.b_1 = b_1
        self.W_2 = W_2
        self.b_2 = b_2
        self.W_Q = W_Q
        self.W_K = W_K
        self.W_V = W_V
        self.W_O = W_O
    }

    /// The number of fields.
    static var fieldCount: Int { 8 }

    /// The tensors in `BlockParameter` field order, with their field names.
    public var fields: [(name: String, tensor: Tensor<Scalar>)] {
        [("W_1", W_1), ("b_1", b_1), ("W_2", W_2), ("b_2", b_2),
         ("W_Q", W_Q), ("W_K", W_K), ("W_V", W_V), ("W_O", W_O)]
    }

    /// Builds a block from its `fieldCount` tensors in `fields` order.
    init(fieldsInOrder t: ArraySlice<Tensor<Scalar>>) {
        precondition(t.count == Self.fieldCount, "a block has \(Self.fieldCount) fields")
        let i = t.startIndex
        self.init(W_1: t[i], b_1: t[i + 1], W_2: t[i + 2], b_2: t[i + 3], W_Q: t[i + 4], W_K: t[i + 5], W_V: t[i + 6], W_O: t[i + 7])
    }

    /// Builds a block from its fields by name (`W_1`, `b_1`, …); `prefix` names
    /// the block in errors (e.g. `blocks.2.`).
    package init(fields: [String: Tensor<Scalar>], prefix: String = "") throws {
        func take(_ name: String) throws -> Tensor<Scalar> {
            guard let t = fields[name] else {
                throw KernelError.invalidArgument(name: prefix + name, value: "missing", requirement: "every block needs it")
            }
            return t
        }
        self.init(
            W_1: try take("W_1"), b_1: try take("b_1"), W_2: try take("W_2"), b_2: try take("b_2"),
            W_Q: try take("W_Q"), W_K: try take("W_K"), W_V: try take("W_V"), W_O: try take("W_O"))
    }

    /// The block's hyperparameters read off `W_Q` and `W_1` (no check of the rest).
    func inferredShape() throws -> (dModel: Int, dHead: Int, nHead: Int, dMLP: Int) {
        guard W_Q.rank == 3 else {
            throw KernelError.invalidDimension(what: "W_Q", detail: "rank is \(W_Q.rank), expected 3 (d_model, d_head, n_head)")
        }
        guard W_1.rank == 2 else {
            throw KernelError.invalidDimension(what: "W_1", detail: "rank is \(W_1.rank), expected 2 (d_model, d_mlp)")
        }
        return (W_Q.shape[0], W_Q.shape[1], W_Q.shape[2], W_1.shape[1])
    }

    /// Checks every field's shape against `h`; errors name `prefix + field`.
    package func validate(against h: Hyperparameters, prefix: String = "") throws {
        for ((name, tensor), (_, shape)) in zip(fields, h.blockShapes()) where tensor.shape != shape {
            throw KernelError.shapeMismatch(what: prefix + name, expected: shape, found: tensor.shape)
        }
    }

    /// The same block with every value converted to `Other` (rounded to nearest).
    public func converted<Other: KernelScalar>(to: Other.Type = Other.self) -> BlockWeights<Other> {
        BlockWeights<Other>(
            W_1: W_1.converted(), b_1: b_1.converted(), W_2: W_2.converted(), b_2: b_2.converted(),
            W_Q: W_Q.converted(), W_K: W_K.converted(), W_V: W_V.converted(), W_O: W_O.converted())
    }
}
