import ArgumentParser
import TXWFormat
import TXWKernels

/// The shape of a new model, shared by `txw-pack --random` (and later `txw-train --random`).
package struct HyperparameterOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Vocabulary size V (may be left out when --vocab or --char-vocab gives the tokens).")
    package var vocabSize: Int?

    @Option(parsing: .unconditional, help: "Model width d_model (even).")
    package var dModel: Int?

    @Option(parsing: .unconditional, help: "Number of attention heads n_head.")
    package var nHead: Int?

    @Option(parsing: .unconditional, help: "Width of each head d_head (need not be d_model / n_head).")
    package var dHead: Int?

    @Option(parsing: .unconditional, help: "Hidden width of the MLP d_mlp.")
    package var dMLP: Int?

    @Option(parsing: .unconditional, help: "Number of blocks n_block.")
    package var nBlock: Int?

    package init() {}

    /// True when any of the flags was given.
    package var anyGiven: Bool { [vocabSize, dModel, nHead, dHead, dMLP, nBlock].contains { $0 != nil } }

    /// The hyperparameters, with V from `vocabularySize` when --vocab-size is absent;
    /// a missing or out-of-range value is a `ValidationError` naming the flag.
    package func hyperparameters(vocabularySize: Int?) throws -> Hyperparameters {
        func require(_ value: Int?, _ flag: String) throws -> Int {
            guard let value else { throw ValidationError("--random needs \(flag)") }
            return value
        }
        let V: Int
        if let vocabSize {
            if let n = vocabularySize, n != vocabSize {
                throw ValidationError("--vocab-size \(vocabSize) disagrees with the vocabulary's \(n) tokens")
            }
            V = vocabSize
        } else if let n = vocabularySize {
            V = n
        } else {
            throw ValidationError("--random needs --vocab-size (or --vocab / --char-vocab)")
        }
        let h = Hyperparameters(
            vocabSize: V, dModel: try require(dModel, "--d-model"), nHead: try require(nHead, "--n-head"),
            dHead: try require(dHead, "--d-head"), dMLP: try require(dMLP, "--d-mlp"), nBlock: try require(nBlock, "--n-block"))
        do {
            try h.validate()
        } catch let error as KernelError {
            throw Diagnostics.usageError(error, fallback: "hyperparameters")
        }
        try Self.checkSize(h)
        return h
    }

    /// The most parameters a new model may have (2^30, 4 GiB as f32): larger
    /// models are imported (`txw-pack --from`), not generated.
    package static let maximumParameters = 1 << 30

    /// Refuses, before anything is allocated, a model whose tensors the
    /// format cannot hold (more than `FormatLimits.maxElements` elements in
    /// one tensor) or that has more than `maximumParameters` parameters.
    /// `h` has passed `Hyperparameters.validate()`, so its counts fit in Int.
    package static func checkSize(_ h: Hyperparameters) throws {
        var perBlock = 0
        let tensors = [("W_E", [h.vocabSize, h.dModel])] + h.blockShapes().map { ("blocks.i.\($0.field)", $0.shape) }
        for (name, shape) in tensors {
            let count = shape.reduce(1, *)
            guard UInt64(count) <= FormatLimits.maxElements else {
                throw ValidationError("hyperparameters: \(name) of shape \(shape) has \(count) elements; a .txw tensor holds at most \(FormatLimits.maxElements)")
            }
            if name != "W_E" { perBlock += count }
        }
        let total = h.vocabSize * h.dModel + perBlock * h.nBlock
        guard total <= maximumParameters else {
            throw ValidationError("hyperparameters: the model has \(total) parameters; a new model may have at most \(maximumParameters)")
        }
    }
}
