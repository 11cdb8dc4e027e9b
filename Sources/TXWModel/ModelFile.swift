import TXWFormat
import TXWKernels

/// Maps a notebook transformer to and from a `.txw` container (Spec/txw-format.md §2).
public enum ModelFile {
    /// Reads, validates and converts every tensor of the model at `path` to `T`.
    /// Every block's checksum is verified on the way. `options` sets the
    /// decoding threads and the memory budget the whole load must fit
    /// (`load(_:as:)`).
    public static func load<T: KernelScalar>(
        path: String, as type: T.Type = T.self, options: TXWReader.Options = TXWReader.Options()
    ) throws -> LoadedModel<T> {
        try load(TXWReader(path: path, options: options), as: type)
    }

    /// The model of an open container.
    ///
    /// Before any tensor is decoded, the memory the load needs
    /// (`memoryNeed(_:vocabulary:as:)`) is checked against the reader's
    /// `options.memoryBudget`: a tensor that alone exceeds it is named,
    /// otherwise the model as a whole is.
    ///
    /// - Throws: `TXWFormatError.overMemoryBudget` when the load would
    ///   exceed the budget; `ModelError` when the file is not a valid model;
    ///   `TXWFormatError` for a damaged file.
    public static func load<T: KernelScalar>(_ reader: TXWReader, as type: T.Type = T.self) throws -> LoadedModel<T> {
        let (h, vocabulary) = try profile(of: reader)
        let contextLength = try contextLength(of: reader)
        try checkPrecision(h, as: type)
        let budget = reader.options.memoryBudget
        let size = MemoryLayout<T>.size
        for (name, _) in h.tensorShapes() {
            guard let entry = reader.tensor(named: name) else { throw ModelError.missingTensor(name) }
            let converting = !(size == 4 && entry.dtype == .f32) && !(size == 8 && entry.dtype == .f64)
            try budget.check(TXWReader.readNeed(entry, as: size, converting: converting, threads: reader.options.decodeThreads),
                             for: "tensor '\(name)' decoded as \(T.precisionName)")
        }
        try budget.check(memoryNeed(h, vocabulary: vocabulary, as: T.self, reader: reader),
                         for: "the model in \(T.precisionName) (weights, their derived copies, the vocabulary)")
        let tensors = try h.tensorShapes().map { name, shape in
            try Tensor<T>(shape: shape, scalars: reader.read(named: name), what: name)
        }
        let weights: TransformerWeights<T>
        do {
            weights = try TransformerWeights(hyperparameters: h, parameterTensors: tensors)
        } catch let error as KernelError {
            throw ModelError.kernel(error)
        }
        let user = reader.metadata.filter { !ModelKeys.isReserved($0.key) }
        return LoadedModel(weights: weights, vocabulary: vocabulary, contextLength: contextLength, metadata: user)
    }

    /// The bytes loading a model of `h` in precision `T` holds at its peak
    /// (nil on overflow): the weights (`parameterCount` values), their derived
    /// copies (the transposed `W_E` and each block's fused Q/K/V weights),
    /// the vocabulary's automaton (`Vocabulary.memoryBound(_:)`), and the
    /// conversion scratch: the largest tensor's stored bytes when the file's
    /// dtype is not `T` (`reader` tells; without one, assumed).
    public static func memoryNeed<T: KernelScalar>(
        _ h: Hyperparameters, vocabulary: Vocabulary?, as type: T.Type = T.self
    ) -> Int? {
        memoryNeed(h, vocabulary: vocabulary, as: type, reader: nil)
    }

    static func memoryNeed<T: KernelScalar>(
        _ h: Hyperparameters, vocabulary: Vocabulary?, as type: T.Type, reader: TXWReader?
    ) -> Int? {
        let size = MemoryLayout<T>.size
        let count = CheckedBytes.product(of:)
        var terms: [Int?] = []
        var scratch = 0
        for (name, shape) in h.tensorShapes() {
            guard let n = count(shape) else { return nil }
            terms.append(MemoryBudget.bytes(count: n, size: size))
            let dtype = reader?.tensor(named: name)?.dtype
            let same = (size == 4 && dtype == .f32) || (size == 8 && dtype == .f64)
            if !same, let raw = MemoryBudget.bytes(count: n, size: dtype?.size ?? 8) { scratch = max(scratch, raw) }
        }
        let hd = MemoryBudget.bytes(count: h.dHead, size: h.nHead)
        let fused = hd.flatMap { MemoryBudget.bytes(count: h.dModel, size: $0) }.flatMap { MemoryBudget.bytes(count: $0, size: 3 * size) }
        terms.append(count([h.vocabSize, h.dModel]).flatMap { MemoryBudget.bytes(count: $0, size: size) })
        terms.append(fused.flatMap { MemoryBudget.bytes(count: $0, size: h.nBlock) })
        terms.append(scratch)
        terms.append(vocabulary.map { Vocabulary.memoryBound($0.tokens) } ?? 0)
        return MemoryBudget.sum(terms)
    }

    /// Throws `ModelError.precision` when a constant of `h` would not keep
    /// its meaning in `T` (`KernelConstants.unrepresentable(in:)`).
    package static func checkPrecision<T: KernelScalar>(_ h: Hyperparameters, as _: T.Type) throws {
        guard let (name, value, converted) = h.constants.unrepresentable(in: T.self) else { return }
        throw ModelError.precision(key: "model." + name, value: value, precision: T.precisionName, converted: converted)
    }

    /// Checks the model profile of a container — keys, types, ranges,
    /// vocabulary, the exact tensor set and every shape — without decoding
    /// any tensor, in the order of Spec/txw-format.md §2.2. Returns the
    /// hyperparameters and the vocabulary; the context length, which the
    /// kernels do not use, is `contextLength(of:)`.
    ///
    /// `model.` keys this version does not know are refused in a file that
    /// declares a minor version it knows (≤ 1.1) and ignored in a file of a
    /// higher minor version, which may only add optional keys that leave
    /// the computation unchanged (§2.3).
    public static func profile(of reader: TXWReader) throws -> (Hyperparameters, Vocabulary?) {
        if ActivationCacheFile.isActivationCache(reader) { throw ModelError.activationCache }
        func int(_ key: String, _ range: ClosedRange<Int>) throws -> Int {
            guard let value = reader.metadata(key) else { throw ModelError.missingKey(key) }
            guard case let .int(v) = value else { throw ModelError.wrongType(key: key, expected: "an int", found: "a \(value.typeName)") }
            guard v >= Int64(range.lowerBound), v <= Int64(range.upperBound) else {
                throw ModelError.outOfRange(key: key, value: "\(v)", requirement: "must be in \(range.lowerBound)…\(range.upperBound)")
            }
            return Int(v)
        }
        func float(_ key: String, _ requirement: String, _ ok: (Double) -> Bool) throws -> Double {
            guard let value = reader.metadata(key) else { throw ModelError.missingKey(key) }
            guard case let .float(v) = value else { throw ModelError.wrongType(key: key, expected: "a float", found: "a \(value.typeName)") }
            guard ok(v) else { throw ModelError.outOfRange(key: key, value: "\(v)", requirement: requirement) }
            return v
        }
        let maxDim = Hyperparameters.maximumDimension
        let V = try int(ModelKeys.vocabSize, 1...maxDim)
        let d = try int(ModelKeys.dModel, 2...maxDim)
        guard d % 2 == 0 else {
            throw ModelError.outOfRange(key: ModelKeys.dModel, value: "\(d)", requirement: "must be even")
        }
        let nHead = try int(ModelKeys.nHead, 1...maxDim)
        let dHead = try int(ModelKeys.dHead, 1...maxDim)
        let dMLP = try int(ModelKeys.dMLP, 1...maxDim)
        let nBlock = try int(ModelKeys.nBlock, 0...maxDim)
        let epsilon = try float(ModelKeys.rmsnormEpsilon, "must be finite and ≥ 0") { $0.isFinite && $0 >= 0 }
        let base = try float(ModelKeys.positionalBase, "must be finite and > 1") { $0.isFinite && $0 > 1 }
        let mask = try float(ModelKeys.maskValue, "must be finite") { $0.isFinite }
        let h = Hyperparameters(
            vocabSize: V, dModel: d, nHead: nHead, dHead: dHead, dMLP: dMLP, nBlock: nBlock,
            constants: KernelConstants(rmsnormEpsilon: epsilon, positionalBase: base, maskValue: mask))
        do {
            try h.validate()
        } catch let error as KernelError {
            throw ModelError.kernel(error)
        }
        _ = try contextLength(of: reader)
        if reader.version.minor <= FormatLimits.minorVersion {
            for entry in reader.metadata where ModelKeys.isReserved(entry.key) && ModelKeys.since[entry.key] == nil {
                throw ModelError.unknownModelKey(entry.key)
            }
        }
        var vocabulary: Vocabulary? = nil
        if let value = reader.metadata(ModelKeys.vocab) {
            guard case let .strings(tokens) = value else {
                throw ModelError.wrongType(key: ModelKeys.vocab, expected: "a list of strings", found: "a \(value.typeName)")
            }
            guard tokens.count == V else {
                throw ModelError.vocabulary("'\(ModelKeys.vocab)' has \(tokens.count) tokens, but vocab_size is \(V)")
            }
            try reader.options.memoryBudget.check(Vocabulary.memoryBound(tokens),
                                                  for: "the vocabulary's automaton (\(tokens.count) tokens)")
            do {
                vocabulary = try Vocabulary(tokens)
            } catch let ModelError.vocabulary(detail) {
                throw ModelError.vocabulary("'\(ModelKeys.vocab)': \(detail)")
            }
        }
        // Exactly the profile's tensors, with its shapes. The names are made
        // one at a time and the first missing one stops the walk, so a tiny
        // file declaring a huge n_block costs at most (tensor count + 1) steps.
        var found = 0
        func expect(_ name: String, _ shape: [Int]) throws {
            guard let entry = reader.tensor(named: name) else { throw ModelError.missingTensor(name) }
            guard entry.shape == shape else { throw ModelError.shapeMismatch(tensor: name, expected: shape, found: entry.shape) }
            found += 1
        }
        try expect("W_E", [V, d])
        for i in 0..<nBlock {
            for (field, shape) in h.blockShapes() { try expect("blocks.\(i).\(field)", shape) }
        }
        if found != reader.tensors.count {
            let names = Set(h.tensorShapes().map(\.name))
            if let extra = reader.tensors.first(where: { !names.contains($0.name) }) {
                throw ModelError.unexpectedTensor(extra.name)
            }
        }
        return (h, vocabulary)
    }

    /// The model's context length (`model.context_length`, Spec/txw-format.md
    /// §2.1): the longest token sequence it was trained to see, or nil when
    /// the file does not say. Checked as `profile(of:)` checks it: the file
    /// must declare format version 1.1 or later, the value must be an int in
    /// 1 … `ModelKeys.maximumContextLength`.
    ///
    /// - Throws: `ModelError.keyNeedsVersion`, `.wrongType` or `.outOfRange`.
    public static func contextLength(of reader: TXWReader) throws -> Int? {
        let key = ModelKeys.contextLength
        guard let value = reader.metadata(key) else { return nil }
        let since = ModelKeys.since[key] ?? FormatLimits.minorVersion
        guard reader.version.minor >= since else {
            throw ModelError.keyNeedsVersion(
                key: key, since: FormatVersion(major: FormatLimits.majorVersion, minor: since), found: reader.version)
        }
        guard case let .int(v) = value else { throw ModelError.wrongType(key: key, expected: "an int", found: "a \(value.typeName)") }
        return try checkedContextLength(v)
    }

    /// `value` as a context length, or `ModelError.outOfRange` naming `model.context_length`.
    package static func checkedContextLength(_ value: Int64) throws -> Int {
        guard value >= 1, value <= Int64(ModelKeys.maximumContextLength) else {
            throw ModelError.outOfRange(
                key: ModelKeys.contextLength, value: "\(value)", requirement: "must be in 1…\(ModelKeys.maximumContextLength)")
        }
        return Int(value)
    }

    /// Writes `weights` (and `vocabulary`, `metadata`) as a model file:
    /// every tensor as `dtype` (default: f32 for `Float` weights, f64 for
    /// `Double`), with the writer `options`; `contextLength`, when given, as
    /// `model.context_length` (1 … 2^24; the file then declares format
    /// version 1.1). Atomic; an existing `path` is replaced only when
    /// `overwrite`.
    public static func save<T: KernelScalar>(
        _ weights: TransformerWeights<T>, vocabulary: Vocabulary? = nil, contextLength: Int? = nil,
        metadata: [String: MetadataValue] = [:], dtype: DType? = nil, options: TXWWriter.Options = TXWWriter.Options(),
        to path: String, overwrite: Bool = false
    ) throws {
        try encode(weights, vocabulary: vocabulary, contextLength: contextLength, metadata: metadata, dtype: dtype, options: options)
            .write(to: path, overwrite: overwrite)
    }

    /// Sets the profile's keys (§2.1) for `h`, `vocabulary` and
    /// `contextLength` in `writer`; a context length raises the file's
    /// minor version to 1.1, the version that added it.
    package static func setProfileMetadata(
        _ h: Hyperparameters, vocabulary: Vocabulary?, contextLength: Int?, in writer: inout TXWWriter
    ) throws {
        try writer.setMetadata(ModelKeys.vocabSize, .int(Int64(h.vocabSize)))
        try writer.setMetadata(ModelKeys.dModel, .int(Int64(h.dModel)))
        try writer.setMetadata(ModelKeys.nHead, .int(Int64(h.nHead)))
        try writer.setMetadata(ModelKeys.dHead, .int(Int64(h.dHead)))
        try writer.setMetadata(ModelKeys.dMLP, .int(Int64(h.dMLP)))
        try writer.setMetadata(ModelKeys.nBlock, .int(Int64(h.nBlock)))
        try writer.setMetadata(ModelKeys.rmsnormEpsilon, .float(h.constants.rmsnormEpsilon))
        try writer.setMetadata(ModelKeys.positionalBase, .float(h.constants.positionalBase))
        try writer.setMetadata(ModelKeys.maskValue, .float(h.constants.maskValue))
        if let vocabulary {
            guard vocabulary.count == h.vocabSize else {
                throw ModelError.vocabulary("\(vocabulary.count) tokens, but vocab_size is \(h.vocabSize)")
            }
            try writer.setMetadata(ModelKeys.vocab, .strings(vocabulary.tokens))
        }
        if let contextLength {
            let value = try checkedContextLength(Int64(clamping: contextLength))
            try writer.declareMinorVersion(ModelKeys.since[ModelKeys.contextLength] ?? FormatLimits.minorVersion)
            try writer.setMetadata(ModelKeys.contextLength, .int(Int64(value)))
        }
    }

    /// The writer holding a model, ready to `encode()` or `write(to:)`
    /// (the arguments as in `save`).
    public static func encode<T: KernelScalar>(
        _ weights: TransformerWeights<T>, vocabulary: Vocabulary? = nil, contextLength: Int? = nil,
        metadata: [String: MetadataValue] = [:], dtype: DType? = nil, options: TXWWriter.Options = TXWWriter.Options()
    ) throws -> TXWWriter {
        let h = weights.hyperparameters
        var writer = try TXWWriter(options: options)
        for key in metadata.keys where ModelKeys.isReserved(key) { throw ModelError.reservedKey(key) }
        for (key, value) in metadata { try writer.setMetadata(key, value) }
        try setProfileMetadata(h, vocabulary: vocabulary, contextLength: contextLength, in: &writer)
        let target = dtype ?? (T.self == Double.self ? .f64 : .f32)
        func add(_ name: String, _ tensor: Tensor<T>) throws {
            let bytes: [UInt8]
            if let doubles = tensor.scalars as? [Double] {
                bytes = ElementCoding.encode(doubles, as: target)
            } else {
                bytes = ElementCoding.encode(tensor.scalars.map { Float($0) }, as: target)
            }
            try writer.addTensor(name: name, dtype: target, shape: tensor.shape, bytes: bytes)
        }
        try add("W_E", weights.W_E)
        for (i, block) in weights.blocks.enumerated() {
            for (field, tensor) in block.fields { try add("blocks.\(i).\(field)", tensor) }
        }
        return writer
    }
}
