import TXWFormat
import TXWKernels

/// A model read from a `.txw` file: weights in the compute precision, the
/// vocabulary if the file has one, and the user metadata (every key outside
/// the `model.` profile).
public struct LoadedModel<Scalar: KernelScalar>: Sendable {
    public let weights: TransformerWeights<Scalar>
    public let vocabulary: Vocabulary?
    public let metadata: [MetadataEntry]
    public var hyperparameters: Hyperparameters { weights.hyperparameters }
}
