import TXWFormat
import TXWKernels

/// A model read from a `.txw` file: weights in the compute precision, the
/// vocabulary and the context length if the file has them, and the user
/// metadata (every key outside the `model.` profile).
public struct LoadedModel<Scalar: KernelScalar>: Sendable {
    /// The weights, converted to the compute precision.
    public let weights: TransformerWeights<Scalar>
    /// The vocabulary (`model.vocab`), when the file holds one.
    public let vocabulary: Vocabulary?
    /// The longest token sequence the model was trained to see
    /// (`model.context_length`), when the file says. The kernels do not use
    /// it; the tools take it as their default window.
    public let contextLength: Int?
    /// The user metadata: every entry whose key does not start with `model.`, in file order.
    public let metadata: [MetadataEntry]
    /// The hyperparameters of `weights`.
    public var hyperparameters: Hyperparameters { weights.hyperparameters }
}
