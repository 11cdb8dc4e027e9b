import Crypto
import TXWFormat
import TXWKernels

/// A SHA-256 digest: of a tensor's or a model's content (Spec/txw-format.md
/// §4, "Content digest"), or of a file's bytes (the lineage keys of §2.1).
///
/// The content digests depend on what a file holds, not on how it stores
/// it: the codec, level, byte shuffle, block size and the order of the
/// tensors in the file leave them unchanged; a changed element bit, dtype,
/// shape, name, hyperparameter or vocabulary token changes them. Text form:
/// 64 lower-case hex digits (``hex``); ``init(hex:)`` also accepts upper
/// case and a `sha256:` prefix.
///
/// ```swift
/// let reader = try TXWReader(path: "model.txw")
/// let digest = try ContentDigest.model(reader)
/// print(digest.digest.hex)                  // the model digest
/// for t in digest.tensors { print(t.name, t.digest.hex) }
/// ```
public struct ContentDigest: Sendable, Hashable, CustomStringConvertible {
    /// The 32 bytes of the SHA-256 digest.
    public let bytes: [UInt8]

    /// The tag that opens a tensor digest's bytes: `txw-tensor-digest-v1` and a NUL.
    public static let tensorTag = Array("txw-tensor-digest-v1".utf8) + [0]
    /// The tag that opens a model digest's bytes: `txw-model-digest-v1` and a NUL.
    public static let modelTag = Array("txw-model-digest-v1".utf8) + [0]
    /// The prefix ``init(hex:)`` accepts before the digits: `sha256:`.
    public static let prefix = "sha256:"

    init(_ digest: SHA256.Digest) { bytes = Array(digest) }

    /// A digest from its text: 64 hex digits (either case), optionally after
    /// `sha256:`; nil for anything else (another length, a non-hex character,
    /// surrounding spaces).
    public init?(hex text: String) {
        var digits = Substring(text)
        if digits.hasPrefix(Self.prefix) { digits = digits.dropFirst(Self.prefix.count) }
        let utf8 = Array(digits.utf8)
        guard utf8.count == 64 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(32)
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        for i in stride(from: 0, to: 64, by: 2) {
            guard let high = value(utf8[i]), let low = value(utf8[i + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        bytes = out
    }

    /// The 64 lower-case hex digits, no prefix.
    public var hex: String { bytes.map { Hex.digits($0) }.joined() }

    /// ``hex``.
    public var description: String { hex }

    // MARK: Plain SHA-256

    /// The SHA-256 of `bytes` (txw-pack's `lineage.source_sha256`, txw-train's `training.data_sha256`).
    public static func sha256(of bytes: [UInt8]) -> ContentDigest {
        var hasher = SHA256()
        bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return ContentDigest(hasher.finalize())
    }

    /// The SHA-256 of `bytes` in memory.
    static func sha256(_ bytes: UnsafeRawBufferPointer) -> ContentDigest {
        var hasher = SHA256()
        hasher.update(bufferPointer: bytes)
        return ContentDigest(hasher.finalize())
    }

    // MARK: Tensor digest

    /// The content digest of tensor `entry` of `reader` (§4.1): its name,
    /// dtype, shape and raw little-endian element bytes, decoded one block at
    /// a time (one block and its scratch held, within the reader's
    /// `options.memoryBudget`), every block's checksum verified on the way.
    /// Works on any container, a model or not.
    ///
    /// - Throws: `TXWFormatError` (`.noSuchTensor` for an entry of another
    ///   file, `.overMemoryBudget`, a damaged block's error).
    public static func tensor(_ entry: TensorEntry, in reader: TXWReader) throws -> ContentDigest {
        var hasher = SHA256()
        CanonicalBytes.tensorPrefix(name: entry.name, dtype: entry.dtype, shape: entry.shape, into: &hasher)
        try reader.forEachBlock(of: entry) { hasher.update(bufferPointer: $0) }
        return ContentDigest(hasher.finalize())
    }

    /// The content digest of a tensor given by its parts (§4.1): `bytes` are
    /// its raw little-endian elements as `dtype` stores them, row-major.
    ///
    /// - Throws: `TXWFormatError.invalidArgument` when `bytes.count` is not the
    ///   element count of `shape` times the dtype's size, or a dimension is below 1.
    public static func tensor(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) throws -> ContentDigest {
        guard shape.allSatisfy({ $0 >= 1 }), let count = CheckedBytes.product(of: shape),
              MemoryBudget.bytes(count: count, size: dtype.size) == bytes.count else {
            throw TXWFormatError.invalidArgument(
                what: "tensor '\(DisplayText.escaped(name))'", detail: "\(bytes.count) bytes do not hold shape \(shape) of \(dtype)")
        }
        var hasher = SHA256()
        CanonicalBytes.tensorPrefix(name: name, dtype: dtype, shape: shape, into: &hasher)
        bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return ContentDigest(hasher.finalize())
    }

    // MARK: Model digest

    /// The content digest of the model in `reader` (§4.2) and the digest of
    /// each of its tensors in the profile's order (`W_E`, then block by block
    /// `W_1`, `b_1`, `W_2`, `b_2`, `W_Q`, `W_K`, `W_V`, `W_O`).
    ///
    /// The model is checked first (`ModelFile.profile(of:)`); its tensors are
    /// then digested one at a time, one block held at once. User metadata
    /// (every key outside `model.`) is not part of it.
    ///
    /// - Throws: `ModelError` when the container is not a model (an
    ///   activation cache: `.activationCache`), `TXWFormatError` for a damaged
    ///   block or a block over the reader's memory budget.
    public static func model(_ reader: TXWReader) throws -> ModelDigest {
        let (h, _) = try ModelFile.profile(of: reader)
        var tensors: [TensorDigest] = []
        for (name, _) in h.tensorShapes() {
            guard let entry = reader.tensor(named: name) else { throw ModelError.missingTensor(name) }
            tensors.append(TensorDigest(name: name, digest: try tensor(entry, in: reader)))
        }
        let keys = reader.metadata.filter { ModelKeys.isReserved($0.key) && $0.key != ModelKeys.vocab }
        // The tokens as the file holds them (profile(of:) has checked them).
        var tokens: [String]? = nil
        if case let .strings(list) = reader.metadata(ModelKeys.vocab) { tokens = list }
        var hasher = SHA256()
        CanonicalBytes.modelBytes(keys: keys, vocabulary: tokens, tensors: tensors.map(\.digest), into: &hasher)
        return ModelDigest(digest: ContentDigest(hasher.finalize()), tensors: tensors)
    }
}

/// A model's content digest and its tensors' (``ContentDigest/model(_:)``).
public struct ModelDigest: Sendable, Hashable {
    /// The model digest (Spec/txw-format.md §4.2).
    public let digest: ContentDigest
    /// Each tensor's digest (§4.1), in the profile's order.
    public let tensors: [TensorDigest]
}

/// One tensor's name and content digest.
public struct TensorDigest: Sendable, Hashable {
    /// The tensor's name.
    public let name: String
    /// Its content digest (Spec/txw-format.md §4.1).
    public let digest: ContentDigest
}

/// The canonical byte sequences of Spec/txw-format.md §4, fed to a hasher.
enum CanonicalBytes {
    static func u64(_ value: Int, into hasher: inout SHA256) {
        withUnsafeBytes(of: UInt64(value).littleEndian) { hasher.update(bufferPointer: $0) }
    }

    static func bytes(_ value: [UInt8], into hasher: inout SHA256) {
        value.withUnsafeBytes { hasher.update(bufferPointer: $0) }
    }

    /// A u64 length, then the string's UTF-8 bytes.
    static func string(_ value: String, into hasher: inout SHA256) {
        let utf8 = Array(value.utf8)
        u64(utf8.count, into: &hasher)
        bytes(utf8, into: &hasher)
    }

    /// §4.1 up to the element bytes: tag, name, dtype code, rank, dimensions.
    static func tensorPrefix(name: String, dtype: DType, shape: [Int], into hasher: inout SHA256) {
        bytes(ContentDigest.tensorTag, into: &hasher)
        string(name, into: &hasher)
        bytes([dtype.rawValue], into: &hasher)
        u64(shape.count, into: &hasher)
        for dim in shape { u64(dim, into: &hasher) }
    }

    /// §4.2: tag, the `model.` keys (sorted; the reader's metadata is), the
    /// vocabulary or its absence, the tensor digests.
    static func modelBytes(keys: [MetadataEntry], vocabulary: [String]?, tensors: [ContentDigest], into hasher: inout SHA256) {
        bytes(ContentDigest.modelTag, into: &hasher)
        let sorted = keys.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        u64(sorted.count, into: &hasher)
        for entry in sorted {
            string(entry.key, into: &hasher)
            bytes([entry.value.typeCode], into: &hasher)
            switch entry.value {
            case let .int(v): withUnsafeBytes(of: v.littleEndian) { hasher.update(bufferPointer: $0) }
            case let .float(v): withUnsafeBytes(of: v.bitPattern.littleEndian) { hasher.update(bufferPointer: $0) }
            case let .bool(v): bytes([v ? 1 : 0], into: &hasher)
            case let .string(s): string(s, into: &hasher)
            case let .strings(list):
                u64(list.count, into: &hasher)
                for s in list { string(s, into: &hasher) }
            }
        }
        if let vocabulary {
            bytes([1], into: &hasher)
            u64(vocabulary.count, into: &hasher)
            for token in vocabulary { string(token, into: &hasher) }
        } else {
            bytes([0], into: &hasher)
        }
        u64(tensors.count, into: &hasher)
        for t in tensors { bytes(t.bytes, into: &hasher) }
    }
}
