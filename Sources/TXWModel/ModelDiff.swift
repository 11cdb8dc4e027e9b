#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TXWFormat

/// How the contents of two txw containers differ: every tensor, the model's
/// hyperparameters and vocabulary, and the metadata (Spec/cli.md,
/// "Comparing two files").
///
/// Content only: the codec, level, shuffle, block size, format version and
/// the order of tensors and keys in the files do not count; tensors are
/// matched by name, metadata by key (both compared as UTF-8 bytes).
///
/// - A tensor is **equal** when both files hold it with the same dtype, the
///   same shape and identical element bytes. So −0 and +0, or two NaNs with
///   different payloads, make tensors differ; such elements, whose values
///   are the same number, are counted apart (`ValueDifference/bitsOnly`).
/// - Tensors of the same shape are compared element by element in float64
///   (every dtype widens to it exactly), also when their dtypes differ (an
///   f32 model against its f16 copy): the dtypes then make the contents
///   differ, and the numbers say by how much (`ValueDifference`).
/// - Tensors of different shapes are reported as such, with no element
///   compared; a tensor in one file only is listed as such.
/// - When both files are models (`ModelFile/profile(of:)` accepts them), the
///   `model.` keys other than `model.vocab` are compared as the
///   hyperparameters, `model.vocab` as the vocabulary, and the other keys as
///   the metadata; otherwise every key is compared as metadata.
///
/// Memory: one tensor of each file at a time, its decoded bytes and the
/// decoders' scratch, plus two chunks of 16,384 float64 values; checked
/// against the budget before anything is read. Equal chunks of bytes are
/// skipped without decoding.
public struct ModelDiff: Sendable, Equatable {
    /// One of the two files compared: `a` is the first, `b` the second.
    public enum Side: String, Sendable, Equatable {
        /// The first file.
        case a
        /// The second file.
        case b
    }

    /// What a container holds.
    public enum ContainerKind: String, Sendable, Equatable {
        /// A model: `ModelFile/profile(of:)` accepts it.
        case model
        /// An activation cache (`ActivationCacheFile`).
        case activationCache = "activation-cache"
        /// Any other container (tensors and metadata).
        case container
    }

    /// How one tensor name compares.
    public enum Status: String, Sendable, Equatable {
        /// Same dtype, same shape, identical element bytes.
        case equal
        /// Same shape, but another dtype or other element bytes (`TensorDifference/values` says how).
        case differs
        /// Different shapes: no element compared.
        case shapeMismatch = "shape_mismatch"
        /// Only the first file holds a tensor of this name.
        case onlyInA = "only_in_a"
        /// Only the second file holds a tensor of this name.
        case onlyInB = "only_in_b"
    }

    /// The element-by-element comparison of two tensors of the same shape,
    /// in float64. An element pair `(a, b)` is one of:
    ///
    /// - the same value (`a == b`, so −0 equals +0; or both NaN), counted in
    ///   `bitsOnly` when the dtypes are the same and the bytes are not;
    /// - a NaN and a number: counted in `differing` and `nanMismatches`;
    /// - otherwise, when either is ±inf: counted in `differing` and
    ///   `infinityMismatches`;
    /// - two different finite values: counted in `differing`, and taken
    ///   into `maxAbsolute` = max |a − b| and `maxRelative` = max |a − b| /
    ///   max(|a|, |b|) (at most 2).
    ///
    /// So a non-finite value never enters the maxima; they are 0 when no
    /// finite pair differs. |a − b| is computed in float64 and is +inf only
    /// when two finite f64 values are more than the largest f64 (about
    /// 1.8e308) apart; the relative difference is then computed from the
    /// halves, and stays exact.
    public struct ValueDifference: Sendable, Equatable {
        /// The elements compared (the tensor's element count).
        public var elements: Int
        /// Elements whose values differ (`nanMismatches` and `infinityMismatches` included).
        public var differing: Int
        /// The largest |a − b| over the pairs of different finite values; 0 when there is none.
        public var maxAbsolute: Double
        /// The largest |a − b| / max(|a|, |b|) over the pairs of different finite values; 0 when there is none.
        public var maxRelative: Double
        /// Pairs of a NaN and a number (or ±inf).
        public var nanMismatches: Int
        /// Pairs of different values, neither NaN, at least one ±inf.
        public var infinityMismatches: Int
        /// Elements of the same value whose bytes differ (−0 against +0, NaN payloads); 0 when the dtypes differ.
        public var bitsOnly: Int
        /// The flat (row-major) index of the first element whose values differ, if any.
        public var firstDifferingIndex: Int?

        /// A comparison of `elements` elements with the counts and maxima given.
        public init(elements: Int, differing: Int = 0, maxAbsolute: Double = 0, maxRelative: Double = 0,
                    nanMismatches: Int = 0, infinityMismatches: Int = 0, bitsOnly: Int = 0, firstDifferingIndex: Int? = nil) {
            self.elements = elements
            self.differing = differing
            self.maxAbsolute = maxAbsolute
            self.maxRelative = maxRelative
            self.nanMismatches = nanMismatches
            self.infinityMismatches = infinityMismatches
            self.bitsOnly = bitsOnly
            self.firstDifferingIndex = firstDifferingIndex
        }
    }

    /// One tensor name of either file: its dtype and shape in each, and how they compare.
    public struct TensorDifference: Sendable, Equatable {
        /// The tensor's name.
        public var name: String
        /// How it compares.
        public var status: Status
        /// Its dtype in the first file; nil when only the second holds it.
        public var dtypeA: DType?
        /// Its dtype in the second file; nil when only the first holds it.
        public var dtypeB: DType?
        /// Its shape in the first file; nil when only the second holds it.
        public var shapeA: [Int]?
        /// Its shape in the second file; nil when only the first holds it.
        public var shapeB: [Int]?
        /// The element comparison: present for `equal` and `differs`, nil otherwise.
        public var values: ValueDifference?

        /// A tensor's comparison.
        public init(name: String, status: Status, dtypeA: DType?, dtypeB: DType?, shapeA: [Int]?, shapeB: [Int]?,
                    values: ValueDifference?) {
            self.name = name
            self.status = status
            self.dtypeA = dtypeA
            self.dtypeB = dtypeB
            self.shapeA = shapeA
            self.shapeB = shapeB
            self.values = values
        }
    }

    /// A key both files hold with different values.
    public struct ChangedValue: Sendable, Equatable {
        /// The key.
        public var key: String
        /// Its value in the first file.
        public var a: MetadataValue
        /// Its value in the second file.
        public var b: MetadataValue

        /// `key` holding `a` in the first file and `b` in the second.
        public init(key: String, a: MetadataValue, b: MetadataValue) {
            self.key = key
            self.a = a
            self.b = b
        }
    }

    /// How two sets of metadata keys differ. Values are compared as
    /// `MetadataValue`'s `==` does: by type, then bytes (strings as UTF-8,
    /// floats by bit pattern).
    public struct KeyDifference: Sendable, Equatable {
        /// Keys only the first file holds, in its order.
        public var onlyInA: [MetadataEntry]
        /// Keys only the second file holds, in its order.
        public var onlyInB: [MetadataEntry]
        /// Keys both hold with different values, in the first file's order.
        public var changed: [ChangedValue]

        /// A difference of these keys.
        public init(onlyInA: [MetadataEntry] = [], onlyInB: [MetadataEntry] = [], changed: [ChangedValue] = []) {
            self.onlyInA = onlyInA
            self.onlyInB = onlyInB
            self.changed = changed
        }

        /// True when no key differs.
        public var isEmpty: Bool { onlyInA.isEmpty && onlyInB.isEmpty && changed.isEmpty }
    }

    /// How two vocabularies differ, token id by token id (tokens compared as UTF-8 bytes).
    public struct VocabularyDifference: Sendable, Equatable {
        /// The first file's vocabulary size; nil when it has no vocabulary.
        public var sizeA: Int?
        /// The second file's vocabulary size; nil when it has no vocabulary.
        public var sizeB: Int?
        /// Ids below the larger size whose tokens differ or that only one vocabulary has.
        public var differingIds: Int
        /// The lowest such id, if any.
        public var firstDifferingId: Int?
        /// The first vocabulary's token at `firstDifferingId` (nil when it has none there).
        public var firstTokenA: String?
        /// The second vocabulary's token at `firstDifferingId` (nil when it has none there).
        public var firstTokenB: String?

        /// A vocabulary comparison.
        public init(sizeA: Int?, sizeB: Int?, differingIds: Int = 0, firstDifferingId: Int? = nil,
                    firstTokenA: String? = nil, firstTokenB: String? = nil) {
            self.sizeA = sizeA
            self.sizeB = sizeB
            self.differingIds = differingIds
            self.firstDifferingId = firstDifferingId
            self.firstTokenA = firstTokenA
            self.firstTokenB = firstTokenB
        }

        /// True when both have the same tokens (or both have none).
        public var isEqual: Bool { differingIds == 0 && sizeA == sizeB }
    }

    /// What the first file is.
    public var kindA: ContainerKind
    /// What the second file is.
    public var kindB: ContainerKind
    /// Every tensor name: the first file's tensors in its order, then those only the second holds, in its order.
    public var tensors: [TensorDifference]
    /// The `model.` keys other than `model.vocab`, when both files are models; nil otherwise.
    public var hyperparameters: KeyDifference?
    /// The vocabularies, when both files are models; nil otherwise.
    public var vocabulary: VocabularyDifference?
    /// The other keys: those outside `model.` when both files are models, every key otherwise.
    public var metadata: KeyDifference

    /// True when everything compared is equal: every tensor equal, none in
    /// one file only, and no hyperparameter, vocabulary or metadata difference.
    public var isEqual: Bool { contentsEqual && metadata.isEmpty }

    /// True when the contents are equal, as the content digest defines them
    /// (Spec/txw-format.md part 4): every tensor equal, none in one file
    /// only, and, when both files are models, the same hyperparameters and
    /// vocabulary. The user metadata of two models (name, provenance,
    /// lineage, `training.*`) is reported but is not content: a re-pack,
    /// which records its own lineage, has the contents of its source. When
    /// either file is not a model there is no such split, and every key is
    /// content. `txw-inspect --diff` exits 0 exactly when this holds.
    public var contentsEqual: Bool {
        tensors.allSatisfy { $0.status == .equal } && (hyperparameters?.isEmpty ?? true)
            && (vocabulary?.isEqual ?? true) && (hyperparameters != nil || metadata.isEmpty)
    }

    /// Values decoded at a time when a chunk's bytes differ (per file).
    public static let chunkElements = 16_384

    /// Compares the contents of `a` and `b`.
    ///
    /// Reads one tensor of each file at a time. Before reading a pair, the
    /// memory it needs (`memoryNeed(_:_:)`) is checked against
    /// `memoryBudget` (default: the smaller of the two readers' budgets).
    ///
    /// - Throws: `TXWFormatError.overMemoryBudget` when a pair does not fit
    ///   the budget; `ModelDiffError.reading` when a file cannot be read
    ///   (a damaged block, or its own budget), naming which.
    public static func compare(_ a: TXWReader, _ b: TXWReader, memoryBudget: MemoryBudget? = nil) throws -> ModelDiff {
        let budget = memoryBudget ?? MemoryBudget(bytes: min(a.options.memoryBudget.bytes, b.options.memoryBudget.bytes))
        let kindA = try kind(of: a, side: .a), kindB = try kind(of: b, side: .b)
        let models = kindA == .model && kindB == .model
        var tensors: [TensorDifference] = []
        for entryA in a.tensors {
            guard let entryB = b.tensor(named: entryA.name) else {
                tensors.append(TensorDifference(name: entryA.name, status: .onlyInA, dtypeA: entryA.dtype, dtypeB: nil,
                                                shapeA: entryA.shape, shapeB: nil, values: nil))
                continue
            }
            tensors.append(try compare(entryA, in: a, entryB, in: b, budget: budget))
        }
        for entryB in b.tensors where a.tensor(named: entryB.name) == nil {
            tensors.append(TensorDifference(name: entryB.name, status: .onlyInB, dtypeA: nil, dtypeB: entryB.dtype,
                                            shapeA: nil, shapeB: entryB.shape, values: nil))
        }
        let isHyperparameter = { (key: String) in ModelKeys.isReserved(key) && key != ModelKeys.vocab }
        let hyperparameters = models
            ? keyDifference(a.metadata.filter { isHyperparameter($0.key) }, b.metadata.filter { isHyperparameter($0.key) }) : nil
        let vocabulary = models ? vocabularyDifference(tokens(a), tokens(b)) : nil
        let metadata = models
            ? keyDifference(a.metadata.filter { !ModelKeys.isReserved($0.key) }, b.metadata.filter { !ModelKeys.isReserved($0.key) })
            : keyDifference(a.metadata, b.metadata)
        return ModelDiff(kindA: kindA, kindB: kindB, tensors: tensors, hyperparameters: hyperparameters,
                         vocabulary: vocabulary, metadata: metadata)
    }

    /// The bytes comparing `a` with `b` (of the same shape) holds at once
    /// (nil on overflow): both tensors' decoded bytes, their decoders'
    /// scratch (`TXWReader.Options.decodeThreads` of each reader), and two
    /// chunks of `chunkElements` float64 values.
    public static func memoryNeed(_ a: (entry: TensorEntry, reader: TXWReader), _ b: (entry: TensorEntry, reader: TXWReader)) -> Int? {
        MemoryBudget.sum([a.entry.rawSize, TXWReader.decodeScratch([a.entry], threads: a.reader.options.decodeThreads),
                          b.entry.rawSize, TXWReader.decodeScratch([b.entry], threads: b.reader.options.decodeThreads),
                          MemoryBudget.bytes(count: 2 * chunkElements, size: MemoryLayout<Double>.size)])
    }

    static func kind(of reader: TXWReader, side: Side) throws -> ContainerKind {
        if ActivationCacheFile.isActivationCache(reader) { return .activationCache }
        do {
            _ = try ModelFile.profile(of: reader)
            return .model
        } catch let error as TXWFormatError where error.category == "memory" {
            // The vocabulary's automaton did not fit: a refusal of the run, not a property of the file.
            throw ModelDiffError.reading(side, error)
        } catch {
            return .container
        }
    }

    static func compare(_ entryA: TensorEntry, in a: TXWReader, _ entryB: TensorEntry, in b: TXWReader,
                        budget: MemoryBudget) throws -> TensorDifference {
        var result = TensorDifference(name: entryA.name, status: .differs, dtypeA: entryA.dtype, dtypeB: entryB.dtype,
                                      shapeA: entryA.shape, shapeB: entryB.shape, values: nil)
        guard entryA.shape == entryB.shape else {
            result.status = .shapeMismatch
            return result
        }
        try budget.check(memoryNeed((entryA, a), (entryB, b)),
                         for: "comparing tensor '\(DisplayText.escaped(entryA.name))' (both files' \(entryA.dtype)/\(entryB.dtype) bytes)")
        let bytesA = try read(entryA, from: a, side: .a)
        let bytesB = try read(entryB, from: b, side: .b)
        let values = bytesA.withUnsafeBytes { rawA in
            bytesB.withUnsafeBytes { rawB in
                compareValues(rawA, entryA.dtype, rawB, entryB.dtype, count: entryA.elementCount)
            }
        }
        result.values = values
        if entryA.dtype == entryB.dtype && values.differing == 0 && values.bitsOnly == 0 { result.status = .equal }
        return result
    }

    static func read(_ entry: TensorEntry, from reader: TXWReader, side: Side) throws -> [UInt8] {
        do {
            return try reader.readBytes(entry)
        } catch let error as TXWFormatError {
            throw ModelDiffError.reading(side, error)
        }
    }

    /// Compares `count` elements of little-endian `a` (of `dtypeA`) and `b`
    /// (of `dtypeB`) as `ValueDifference` defines, `chunkElements` at a time:
    /// a chunk whose bytes are equal (same dtype) is skipped undecoded.
    package static func compareValues(_ a: UnsafeRawBufferPointer, _ dtypeA: DType, _ b: UnsafeRawBufferPointer, _ dtypeB: DType,
                                      count: Int) -> ValueDifference {
        var result = ValueDifference(elements: count)
        let same = dtypeA == dtypeB
        let size = dtypeA.size
        var start = 0
        while start < count {
            let n = min(chunkElements, count - start)
            let chunkA = UnsafeRawBufferPointer(rebasing: a[(start * dtypeA.size)..<((start + n) * dtypeA.size)])
            let chunkB = UnsafeRawBufferPointer(rebasing: b[(start * dtypeB.size)..<((start + n) * dtypeB.size)])
            defer { start += n }
            if same && (n == 0 || memcmp(chunkA.baseAddress!, chunkB.baseAddress!, chunkA.count) == 0) { continue }
            let x = ElementCoding.decode(chunkA, as: dtypeA, to: Double.self)
            let y = ElementCoding.decode(chunkB, as: dtypeB, to: Double.self)
            for i in 0..<n {
                let u = x[i], v = y[i]
                if u == v || (u.isNaN && v.isNaN) {
                    if same && !bytesEqual(chunkA, chunkB, element: i, size: size) { result.bitsOnly += 1 }
                    continue
                }
                result.differing += 1
                if result.firstDifferingIndex == nil { result.firstDifferingIndex = start + i }
                if u.isNaN || v.isNaN {
                    result.nanMismatches += 1
                } else if u.isInfinite || v.isInfinite {
                    result.infinityMismatches += 1
                } else {
                    let d = abs(u - v), m = max(abs(u), abs(v))
                    // Two finite f64 values more than the largest f64 apart: |a − b| is
                    // +inf, and the halves (exact at that size) give the relative difference.
                    let relative = d.isFinite ? d / m : abs(u / 2 - v / 2) / (m / 2)
                    if d > result.maxAbsolute { result.maxAbsolute = d }
                    if relative > result.maxRelative { result.maxRelative = relative }
                }
            }
        }
        return result
    }

    static func bytesEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, element i: Int, size: Int) -> Bool {
        for k in (i * size)..<((i + 1) * size) where a[k] != b[k] { return false }
        return true
    }

    /// The vocabulary of a model (`model.vocab`), or nil.
    static func tokens(_ reader: TXWReader) -> [String]? {
        if case let .strings(tokens) = reader.metadata(ModelKeys.vocab) { return tokens }
        return nil
    }

    /// How `a` and `b` (nil: no vocabulary) differ, id by id.
    package static func vocabularyDifference(_ a: [String]?, _ b: [String]?) -> VocabularyDifference {
        var result = VocabularyDifference(sizeA: a?.count, sizeB: b?.count)
        let ta = a ?? [], tb = b ?? []
        for id in 0..<max(ta.count, tb.count) {
            let x = id < ta.count ? ta[id] : nil, y = id < tb.count ? tb[id] : nil
            if let x, let y, x.utf8.elementsEqual(y.utf8) { continue }
            result.differingIds += 1
            if result.firstDifferingId == nil { (result.firstDifferingId, result.firstTokenA, result.firstTokenB) = (id, x, y) }
        }
        return result
    }

    /// How the entries `a` and `b` differ, keys matched as UTF-8 bytes.
    package static func keyDifference(_ a: [MetadataEntry], _ b: [MetadataEntry]) -> KeyDifference {
        let indexA = Dictionary(a.map { (Array($0.key.utf8), $0.value) }, uniquingKeysWith: { first, _ in first })
        let indexB = Dictionary(b.map { (Array($0.key.utf8), $0.value) }, uniquingKeysWith: { first, _ in first })
        var result = KeyDifference()
        for entry in a {
            guard let other = indexB[Array(entry.key.utf8)] else {
                result.onlyInA.append(entry)
                continue
            }
            if other != entry.value { result.changed.append(ChangedValue(key: entry.key, a: entry.value, b: other)) }
        }
        result.onlyInB = b.filter { indexA[Array($0.key.utf8)] == nil }
        return result
    }
}

/// Why `ModelDiff.compare` could not compare two files: a file could not be
/// read, and which (the error of the container library, unchanged).
public enum ModelDiffError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Reading `side`'s file failed with `error` (a damaged block, or its reader's memory budget).
    case reading(ModelDiff.Side, TXWFormatError)

    /// `file a: ` or `file b: `, then the container library's description.
    public var description: String {
        switch self {
        case let .reading(side, error): "file \(side.rawValue): \(error.description)"
        }
    }
}
