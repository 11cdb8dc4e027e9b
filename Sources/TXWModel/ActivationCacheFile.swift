import TXWFormat
import TXWKernels

/// The "activation cache" profile of a `.txw` container or an `.npz` archive
/// (Spec/txw-format.md §3): every stored activation of one run as a tensor
/// named by its hook name, in the compute precision, with metadata that
/// names the model file, the input and the ablation.
public enum ActivationCacheFile {
    /// The value of `cache.profile` that marks a cache.
    public static let profile = "activation-cache"
    /// The profile's version, `cache.version`.
    public static let version: Int64 = 1

    /// What a cache records of its run besides the activations.
    public struct Source: Sendable, Equatable {
        /// The model file's name as given (a path, or `standard input`).
        public var modelName: String
        /// The model file's `header_checksum` (`TXWReader.headerChecksum`).
        public var modelHeaderChecksum: UInt64
        /// The input text, when the tokens came from one.
        public var text: String?

        /// A source.
        public init(modelName: String, modelHeaderChecksum: UInt64, text: String? = nil) {
            self.modelName = modelName
            self.modelHeaderChecksum = modelHeaderChecksum
            self.text = text
        }
    }

    /// True when `reader`'s metadata marks it as an activation cache.
    public static func isActivationCache(_ reader: TXWReader) -> Bool {
        reader.metadata("cache.profile") == .string(profile)
    }

    /// The cache's metadata, by key (Spec/txw-format.md §3.1).
    public static func metadata<T: KernelScalar>(_ cache: ActivationCache<T>, source: Source) -> [(key: String, value: MetadataValue)] {
        var out: [(key: String, value: MetadataValue)] = [
            ("cache.profile", .string(profile)),
            ("cache.version", .int(version)),
            ("cache.model.file", .string(source.modelName)),
            ("cache.model.header_checksum", .string(hex16(source.modelHeaderChecksum))),
            ("cache.tokens", .string(cache.tokens.map(String.init).joined(separator: " "))),
            ("cache.precision", .string(T.self == Double.self ? "f64" : "f32")),
            ("cache.ablation.mode", .string(cache.ablation?.mode.rawValue ?? Ablation.Mode.zero.rawValue)),
            ("cache.ablation.targets", .strings(cache.ablation?.targets.map(\.description) ?? [])),
        ]
        if let text = source.text { out.append(("cache.text", .string(text))) }
        return out
    }

    static func hex16(_ v: UInt64) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    static func dtype<T: KernelScalar>(_: T.Type) -> DType { T.self == Double.self ? .f64 : .f32 }

    static func bytes<T: KernelScalar>(_ values: ArraySlice<T>) -> [UInt8] {
        if let d = values as? ArraySlice<Double> { return ElementCoding.encode(Array(d), as: .f64) }
        if let f = values as? ArraySlice<Float> { return ElementCoding.encode(Array(f), as: .f32) }
        return ElementCoding.encode(values.map { Double($0) }, as: .f64)
    }

    /// The bytes `txwBytes` or `npzBytes` holds at its peak besides the
    /// cache (nil on overflow): a copy of every tensor's bytes and the file.
    public static func writeMemoryNeed<T: KernelScalar>(_ cache: ActivationCache<T>) -> Int? {
        let values = cache.entries.reduce(0) { $0 + $1.count }
        return MemoryBudget.sum([MemoryBudget.bytes(count: values, size: 2 * MemoryLayout<T>.size),
                                 MemoryBudget.bytes(count: cache.tokens.count, size: 64), 1 << 20])
    }

    /// The cache as a `.txw` container written with `options`.
    public static func txwBytes<T: KernelScalar>(
        _ cache: ActivationCache<T>, source: Source, options: TXWWriter.Options = TXWWriter.Options()
    ) throws -> [UInt8] {
        var writer = try TXWWriter(options: options)
        for (key, value) in metadata(cache, source: source) { try writer.setMetadata(key, value) }
        for e in cache.entries {
            try writer.addTensor(name: e.name, dtype: dtype(T.self), shape: e.shape, bytes: bytes(cache.scalars(e)))
        }
        return try writer.encode()
    }

    /// The cache as an `.npz` archive, written as `txw-pack` exports: one
    /// `.npy` member per activation (`<f4` or `<f8`), and the metadata in
    /// `__txw_metadata__.npy` (a JSON object of `TYPE:TEXT` strings, as
    /// export writes user metadata). Throws `ModelError.unexportable` past
    /// what a zip without zip64 records holds.
    public static func npzBytes<T: KernelScalar>(_ cache: ActivationCache<T>, source: Source) throws -> [UInt8] {
        let descr = T.self == Double.self ? "<f8" : "<f4"
        var entries: [ModelArrays.NPZEntry] = cache.entries.map { e in
            ModelArrays.NPZEntry(name: Array((e.name + ".npy").utf8), header: ModelArrays.npyHeader(descr: descr, shape: e.shape),
                                 dataCount: e.count * MemoryLayout<T>.size) { bytes(cache.scalars(e)) }
        }
        let json = Array(JSONText.object(metadata(cache, source: source).map { ($0.key, JSONText.string(ExchangeMetadata.encode($0.value))) }).utf8)
        entries.append(ModelArrays.NPZEntry(name: Array((ExchangeMetadata.npzMember + ".npy").utf8),
                                            header: ModelArrays.npyHeader(descr: "|u1", shape: [json.count]), dataCount: json.count) { json })
        guard let size = ModelArrays.storedZipSize(entries.map { ($0.name.count, $0.header.count, $0.dataCount) }) else {
            throw ModelError.unexportable(format: "npz", detail: "more than the 4 GiB or 65535 arrays a zip without zip64 records holds (write a .txw cache)")
        }
        return ModelArrays.storedZip(entries, size: size)
    }
}
