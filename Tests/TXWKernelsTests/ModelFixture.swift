import TXWKernels

/// A whole model and its reference outputs (transformer.json).
struct ModelFixture: Decodable {
    struct Shape: Decodable {
        let vocab_size, d_model, n_head, d_head, d_mlp, n_block: Int
    }
    /// The notebook's own loss: a number, or "inf" where its probability underflowed.
    enum NotebookLoss: Decodable {
        case finite(Double), infinite
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            self = (try? c.decode(Double.self)).map(NotebookLoss.finite) ?? .infinite
        }
    }

    let name: String
    let hyperparameters: Shape
    let W_E: TensorFixture
    let blocks: [BlockFixture]
    let tokens: [Int]
    let logits: TensorFixture
    let loss: Double?
    let notebook_loss: NotebookLoss?
    /// The causal mask's value when it is not the notebook's -1e9.
    let mask_value: Double?

    var shape: Hyperparameters {
        let h = hyperparameters
        var constants = KernelConstants.notebook
        if let mask_value { constants.maskValue = mask_value }
        return Hyperparameters(vocabSize: h.vocab_size, dModel: h.d_model, nHead: h.n_head, dHead: h.d_head, dMLP: h.d_mlp, nBlock: h.n_block,
                               constants: constants)
    }

    func weights<T: KernelScalar>(_: T.Type = T.self) throws -> TransformerWeights<T> {
        try TransformerWeights(hyperparameters: shape, W_E: W_E.tensor(), blocks: blocks.map { try $0.weights() })
    }

    static func all() throws -> [ModelFixture] { try Fixtures.cases("transformer") }

    static func named(_ name: String) throws -> ModelFixture {
        guard let model = try all().first(where: { $0.name == name }) else {
            throw KernelError.invalidArgument(name: "fixture", value: name, requirement: "must exist in transformer.json")
        }
        return model
    }
}
