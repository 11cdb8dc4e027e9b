import TXWFormat
import TXWKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A model as named raw arrays in any stored dtype, checked against the
/// model profile (Spec/txw-format.md §2): what `txw-pack` packs. Values are
/// kept as stored bytes, so re-packing without a dtype change is bit-exact.
public struct ModelArrays: Sendable {
    /// The model's hyperparameters, inferred or read and then checked.
    public package(set) var hyperparameters: Hyperparameters
    /// The profile's tensors in canonical order: `W_E`, then block by block.
    public package(set) var arrays: [ImportedArray]
    /// The vocabulary, when the source holds one (`vocab_size` tokens).
    public package(set) var vocabulary: Vocabulary?
    /// The context length (`model.context_length`), when the source holds
    /// one; written by `writer(dtype:options:)`, which refuses a value
    /// outside 1 … `ModelKeys.maximumContextLength`.
    public package(set) var contextLength: Int?
    /// User metadata (no `model.` keys).
    public package(set) var metadata: [String: MetadataValue]

    /// From arrays named as the profile (`W_E`, `blocks.0.W_Q`, …) as an npz
    /// or safetensors file holds them. The hyperparameters are inferred —
    /// V and d_model from `W_E`, d_head and n_head from `blocks.0.W_Q`,
    /// d_mlp from `blocks.0.W_1`, n_block from the highest block index — and
    /// every array is then checked; the first missing, unexpected or
    /// mis-shaped array is named.
    public init(arrays: [ImportedArray], constants: KernelConstants = .notebook) throws {
        var byName: [String: ImportedArray] = [:]
        var nBlock = 0
        for array in arrays {
            guard let block = Self.blockIndex(of: array.name) else {
                throw ModelError.unexpectedTensor(array.name)
            }
            if let block {
                // Bounded by the number of arrays: a gap shows up as a missing tensor below.
                guard block < arrays.count else { throw ModelError.missingTensor("blocks.\(arrays.count / 8).W_1") }
                nBlock = max(nBlock, block + 1)
            }
            byName[array.name] = array
        }
        guard let embedding = byName["W_E"] else { throw ModelError.missingTensor("W_E") }
        guard embedding.shape.count == 2 else {
            throw ModelError.rank(tensor: "W_E", axes: ["vocab_size", "d_model"], found: embedding.shape)
        }
        var (nHead, dHead, dMLP) = (1, 1, 1)
        if nBlock > 0 {
            guard let q = byName["blocks.0.W_Q"] else { throw ModelError.missingTensor("blocks.0.W_Q") }
            guard q.shape.count == 3 else {
                throw ModelError.rank(tensor: "blocks.0.W_Q", axes: ["d_model", "d_head", "n_head"], found: q.shape)
            }
            guard let w1 = byName["blocks.0.W_1"] else { throw ModelError.missingTensor("blocks.0.W_1") }
            guard w1.shape.count == 2 else {
                throw ModelError.rank(tensor: "blocks.0.W_1", axes: ["d_model", "d_mlp"], found: w1.shape)
            }
            // TransformerLens's W_Q is (n_head, d_model, d_head): named as such,
            // with the shape txw expects, before it misleads the inference.
            let dModel = embedding.shape[1]
            if q.shape[0] != dModel && q.shape[1] == dModel {
                throw ModelError.transposedLayout(
                    tensor: "blocks.0.W_Q", expected: [dModel, q.shape[2], q.shape[0]], found: q.shape,
                    layout: Self.transformerLensLayout("W_Q"))
            }
            (dHead, nHead, dMLP) = (q.shape[1], q.shape[2], w1.shape[1])
        }
        let h = Hyperparameters(
            vocabSize: embedding.shape[0], dModel: embedding.shape[1], nHead: nHead, dHead: dHead, dMLP: dMLP,
            nBlock: nBlock, constants: constants)
        do {
            try h.validate()
        } catch let error as KernelError {
            throw ModelError.kernel(error)
        }
        var ordered: [ImportedArray] = []
        for (name, shape) in h.tensorShapes() {
            guard let array = byName[name] else { throw ModelError.missingTensor(name) }
            guard array.shape == shape else {
                let field = String(name.split(separator: ".").last ?? "")
                if let transposed = Self.transformerLensShape(field, h), transposed == array.shape {
                    throw ModelError.transposedLayout(tensor: name, expected: shape, found: array.shape, layout: Self.transformerLensLayout(field))
                }
                throw ModelError.shapeMismatch(tensor: name, expected: shape, found: array.shape)
            }
            ordered.append(array)
        }
        self.init(hyperparameters: h, arrays: ordered, vocabulary: nil, metadata: [:])
    }

    /// From a txw model file, for re-packing: every tensor's stored bytes
    /// (verified), the vocabulary, the context length, the constants and the
    /// user metadata. `model.` keys of a newer minor version that this
    /// version does not know are not kept (Spec/txw-format.md §2.3).
    ///
    /// - Throws: `TXWFormatError.overMemoryBudget`, before any tensor is
    ///   decoded, when the tensors' bytes together exceed the reader's
    ///   `options.memoryBudget`.
    public init(reader: TXWReader) throws {
        let (h, vocabulary) = try ModelFile.profile(of: reader)
        let contextLength = try ModelFile.contextLength(of: reader)
        try reader.options.memoryBudget.check(
            MemoryBudget.sum(reader.tensors.map(\.rawSize)), for: "the \(reader.tensors.count) tensors' stored bytes")
        var arrays: [ImportedArray] = []
        for (name, shape) in h.tensorShapes() {
            guard let entry = reader.tensor(named: name) else { throw ModelError.missingTensor(name) }
            arrays.append(ImportedArray(name: name, dtype: entry.dtype, shape: shape, bytes: try reader.readBytes(entry)))
        }
        var metadata: [String: MetadataValue] = [:]
        for entry in reader.metadata where !ModelKeys.isReserved(entry.key) { metadata[entry.key] = entry.value }
        self.init(hyperparameters: h, arrays: arrays, vocabulary: vocabulary, contextLength: contextLength, metadata: metadata)
    }

    /// A model from checked parts, unchecked: `arrays` must be the profile's
    /// tensors of `hyperparameters` in canonical order.
    package init(
        hyperparameters: Hyperparameters, arrays: [ImportedArray], vocabulary: Vocabulary?, contextLength: Int? = nil,
        metadata: [String: MetadataValue]
    ) {
        self.hyperparameters = hyperparameters
        self.arrays = arrays
        self.vocabulary = vocabulary
        self.contextLength = contextLength
        self.metadata = metadata
    }

    /// A randomly initialised model, float64 values (Spec/cli.md, "Random init"):
    /// biases 0; every other tensor N(0, σ²) with σ = 1/√fan_in, where fan_in
    /// is d_model for `W_E`, `W_Q`, `W_K`, `W_V`, `W_1`, n_head·d_head for
    /// `W_O` and d_mlp for `W_2`. Normals come from `NumpyRandom(seed)` by
    /// Box–Muller in tensor order: for each pair of doubles (u₁, u₂),
    /// r = √(−2·ln(1 − u₁)), z₀ = r·cos(2πu₂), z₁ = r·sin(2πu₂).
    public static func random(_ h: Hyperparameters, seed: UInt64) throws -> ModelArrays {
        do {
            try h.validate()
        } catch let error as KernelError {
            throw ModelError.kernel(error)
        }
        var rng = NumpyRandom(seed: seed)
        var spare: Double? = nil
        func normal() -> Double {
            if let z = spare {
                spare = nil
                return z
            }
            let u1 = rng.random(), u2 = rng.random()
            let r = (-2 * log(1 - u1)).squareRoot()
            spare = r * sin(2 * Double.pi * u2)
            return r * cos(2 * Double.pi * u2)
        }
        var arrays: [ImportedArray] = []
        for (name, shape) in h.tensorShapes() {
            let count = shape.reduce(1, *)
            let field = name.split(separator: ".").last.map(String.init) ?? name
            let values: [Double]
            switch field {
            case "b_1", "b_2":
                values = [Double](repeating: 0, count: count)
            default:
                let fanIn = field == "W_O" ? h.nHead * h.dHead : (field == "W_2" ? h.dMLP : h.dModel)
                let sigma = 1 / Double(fanIn).squareRoot()
                values = (0..<count).map { _ in normal() * sigma }
            }
            arrays.append(ImportedArray(name: name, dtype: .f64, shape: shape, bytes: ElementCoding.encode(values, as: .f64)))
        }
        return ModelArrays(hyperparameters: h, arrays: arrays, vocabulary: nil, metadata: [:])
    }

    /// A writer holding the model: every tensor converted to `dtype` (or
    /// kept as stored when nil), the profile's keys, the vocabulary, the
    /// context length (the file then declares format version 1.1) and the
    /// user metadata.
    public func writer(dtype: DType?, options: TXWWriter.Options) throws -> TXWWriter {
        var writer = try TXWWriter(options: options)
        for (key, value) in metadata {
            guard !ModelKeys.isReserved(key) else { throw ModelError.reservedKey(key) }
            try writer.setMetadata(key, value)
        }
        try ModelFile.setProfileMetadata(hyperparameters, vocabulary: vocabulary, contextLength: contextLength, in: &writer)
        for array in arrays {
            let target = dtype ?? array.dtype
            var bytes = array.bytes
            if target != array.dtype {
                let values: [Double] = array.bytes.withUnsafeBytes { ElementCoding.decode($0, as: array.dtype) }
                bytes = ElementCoding.encode(values, as: target)
            }
            try writer.addTensor(name: array.name, dtype: target, shape: array.shape, bytes: bytes)
        }
        return writer
    }

    /// The model's weights in the compute precision `T`.
    public func weights<T: KernelScalar>(as: T.Type = T.self) throws -> TransformerWeights<T> {
        try ModelFile.checkPrecision(hyperparameters, as: T.self)
        let tensors = try arrays.map { array in
            let values: [T] = array.bytes.withUnsafeBytes { ElementCoding.decode($0, as: array.dtype) }
            return try Tensor(shape: array.shape, scalars: values, what: array.name)
        }
        do {
            return try TransformerWeights(hyperparameters: hyperparameters, parameterTensors: tensors)
        } catch let error as KernelError {
            throw ModelError.kernel(error)
        }
    }

    /// TransformerLens's shape of a block's attention weight `field` for `h`:
    /// W_Q, W_K, W_V (n_head, d_model, d_head); W_O (n_head, d_head, d_model).
    static func transformerLensShape(_ field: String, _ h: Hyperparameters) -> [Int]? {
        switch field {
        case "W_Q", "W_K", "W_V": [h.nHead, h.dModel, h.dHead]
        case "W_O": [h.nHead, h.dHead, h.dModel]
        default: nil
        }
    }

    /// The name of TransformerLens's layout of `field`, with its axes.
    static func transformerLensLayout(_ field: String) -> String {
        "TransformerLens (" + (field == "W_O" ? "n_head, d_head, d_model" : "n_head, d_model, d_head") + ")"
    }

    /// `.some(nil)` for `W_E`, `.some(i)` for `blocks.{i}.{field}` with a
    /// profile field and a canonical decimal `i`, `nil` for any other name.
    static func blockIndex(of name: String) -> Int?? {
        if name == "W_E" { return .some(nil) }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "blocks",
              ["W_1", "b_1", "W_2", "b_2", "W_Q", "W_K", "W_V", "W_O"].contains(String(parts[2])),
              let index = Int(parts[1]), index >= 0, String(index) == parts[1] else { return nil }
        return .some(index)
    }
}
