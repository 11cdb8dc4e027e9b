import TXWThreads

/// Builds a `.txw` file: metadata and tensors in, deterministic bytes out.
///
/// Every argument is checked when it is added (`addTensor`, `setMetadata`),
/// so `encode()` only fails if compression itself does. Blocks are
/// compressed in parallel (`Options.threads` threads of the shared
/// `ThreadPool`); the bytes do not depend on the number of threads.
public struct TXWWriter: Sendable {
    /// Options that apply to every tensor unless `addTensor` overrides them.
    public struct Options: Sendable, Equatable {
        /// zstd level (default 3).
        public var level: Int
        /// Raw bytes per block: 64…64 MiB, a multiple of 64 (default 1 MiB).
        public var blockSize: Int
        /// How blocks are compressed (default `.zstd`).
        public var codec: Codec
        /// Byte-shuffle before the codec (default on: every dtype is floating point).
        public var shuffle: Bool
        /// Threads that compress blocks (default: the processors this process
        /// may run on, at most 8; below 1 counts as 1). The bytes never depend on it.
        public var threads: Int

        /// The default thread count: the processors this process may run on, at most 8.
        public static var defaultThreads: Int { ThreadPool.defaultThreads }

        /// Options with the given values; each default is the one its property names. Checked by `validate()`.
        public init(level: Int = FormatLimits.defaultLevel, blockSize: Int = FormatLimits.defaultBlockSize,
                    codec: Codec = .zstd, shuffle: Bool = true, threads: Int = Options.defaultThreads) {
            self.level = level
            self.blockSize = blockSize
            self.codec = codec
            self.shuffle = shuffle
            self.threads = threads
        }

        /// Checks the level (1 … 22) and the block size (`FormatLimits.minBlockSize` … `FormatLimits.maxBlockSize`, a multiple of 64).
        ///
        /// - Throws: `TXWFormatError.invalidArgument` naming the value out of its range.
        public func validate() throws {
            guard Zstd.levels.contains(level) else {
                throw TXWFormatError.invalidArgument(what: "zstd level \(level)", detail: "must be in \(Zstd.levels.lowerBound)…\(Zstd.levels.upperBound)")
            }
            guard blockSize >= FormatLimits.minBlockSize, blockSize <= FormatLimits.maxBlockSize,
                  blockSize % FormatLimits.alignment == 0 else {
                throw TXWFormatError.invalidArgument(
                    what: "block size \(blockSize)",
                    detail: "must be \(FormatLimits.minBlockSize)…\(FormatLimits.maxBlockSize) bytes and a multiple of 64")
            }
        }
    }

    struct PendingTensor: Sendable {
        var name: String
        var dtype: DType
        var shape: [Int]
        var codec: Codec
        var filter: Filter
        var blockSize: Int
        var level: Int
        var bytes: [UInt8]
    }

    /// The options every tensor is written with unless `addTensor` overrides them.
    public let options: Options
    /// The minor version the file declares (Spec/txw-format.md §1.8): 0
    /// unless raised by `declareMinorVersion(_:)`. A writer declares the
    /// lowest minor version whose additions the file uses, so a file that
    /// uses none stays a 1.0 file, byte for byte.
    public private(set) var minorVersion: UInt16 = 0
    private(set) var metadata: [String: MetadataValue] = [:]
    private(set) var pending: [PendingTensor] = []
    /// The UTF-8 bytes of every added tensor name: the duplicate check is one hash lookup.
    private var tensorNames: Set<[UInt8]> = []
    /// Name bytes the duplicate check has hashed so far (for tests that count
    /// the writer's work: it grows with the names added, not their square).
    package private(set) var nameBytesHashed = 0

    /// An empty writer with `options`.
    ///
    /// - Throws: `TXWFormatError.invalidArgument` when `options` do not validate.
    public init(options: Options = Options()) throws {
        try options.validate()
        self.options = options
    }

    /// Raises the minor version the file declares to at least `minor`: the
    /// caller puts in something that version added (the container itself
    /// adds nothing beyond 1.0; the model profile's `model.context_length`
    /// needs 1.1). Never lowers it.
    ///
    /// - Throws: `TXWFormatError.invalidArgument` when `minor` is above the
    ///   highest minor version this implementation knows (1).
    public mutating func declareMinorVersion(_ minor: UInt16) throws {
        guard minor <= FormatLimits.minorVersion else {
            throw TXWFormatError.invalidArgument(
                what: "minor version \(minor)", detail: "this writer knows format versions up to 1.\(FormatLimits.minorVersion)")
        }
        minorVersion = max(minorVersion, minor)
    }

    /// Sets metadata `key` (1…255 bytes of UTF-8) to `value`, replacing any earlier value.
    /// Cost: O(size of `key` and `value`), one dictionary lookup.
    public mutating func setMetadata(_ key: String, _ value: MetadataValue) throws {
        try Self.checkName(key, what: "metadata key")
        switch value {
        case let .string(s):
            try Self.checkString(s, what: "metadata '\(key)'")
        case let .strings(list):
            guard list.count <= FormatLimits.maxStringsInList else {
                throw TXWFormatError.invalidArgument(what: "metadata '\(key)'", detail: "\(list.count) strings, limit \(FormatLimits.maxStringsInList)")
            }
            for s in list { try Self.checkString(s, what: "metadata '\(key)'") }
        default: break
        }
        metadata[key] = value
        guard metadata.count <= FormatLimits.maxMetadataEntries else {
            metadata[key] = nil
            throw TXWFormatError.invalidArgument(what: "metadata", detail: "more than \(FormatLimits.maxMetadataEntries) entries")
        }
    }

    /// Adds a tensor from its raw little-endian bytes in `dtype`. `codec`,
    /// `shuffle`, `level` and `blockSize` default to the writer's options.
    ///
    /// Cost: O(length of `name` + rank) besides keeping `bytes`; the duplicate-name
    /// check is one lookup in a set of the names' UTF-8 bytes, so adding n tensors
    /// is O(n) (amortized), never a scan of the earlier tensors.
    public mutating func addTensor(
        name: String, dtype: DType, shape: [Int], bytes: [UInt8],
        codec: Codec? = nil, shuffle: Bool? = nil, level: Int? = nil, blockSize: Int? = nil
    ) throws {
        try Self.checkName(name, what: "tensor name")
        let nameBytes = Array(name.utf8)
        nameBytesHashed += nameBytes.count
        guard !tensorNames.contains(nameBytes) else {
            throw TXWFormatError.invalidArgument(what: "tensor '\(name)'", detail: "added twice")
        }
        guard pending.count < FormatLimits.maxTensors else {
            throw TXWFormatError.invalidArgument(what: "tensor '\(name)'", detail: "more than \(FormatLimits.maxTensors) tensors")
        }
        guard shape.count <= FormatLimits.maxRank else {
            throw TXWFormatError.invalidArgument(what: "tensor '\(name)'", detail: "rank \(shape.count) is above \(FormatLimits.maxRank)")
        }
        var elements: UInt64 = 1
        for (axis, d) in shape.enumerated() {
            guard d >= 1, UInt64(d) <= FormatLimits.maxDimension else {
                throw TXWFormatError.invalidArgument(what: "tensor '\(name)'", detail: "dimension \(axis) is \(d), must be 1…\(FormatLimits.maxDimension)")
            }
            let (p, o) = elements.multipliedReportingOverflow(by: UInt64(d))
            guard !o, p <= FormatLimits.maxElements else {
                throw TXWFormatError.invalidArgument(what: "tensor '\(name)'", detail: "more than \(FormatLimits.maxElements) elements")
            }
            elements = p
        }
        guard UInt64(bytes.count) == elements * UInt64(dtype.size) else {
            throw TXWFormatError.invalidArgument(
                what: "tensor '\(name)'", detail: "shape \(shape) of \(dtype) needs \(elements * UInt64(dtype.size)) bytes, got \(bytes.count)")
        }
        var tensorOptions = options
        if let level { tensorOptions.level = level }
        if let blockSize { tensorOptions.blockSize = blockSize }
        try tensorOptions.validate()
        pending.append(PendingTensor(
            name: name, dtype: dtype, shape: shape, codec: codec ?? options.codec,
            filter: (shuffle ?? options.shuffle) ? .byteShuffle : .identity,
            blockSize: tensorOptions.blockSize, level: tensorOptions.level, bytes: bytes))
        tensorNames.insert(nameBytes)
    }

    /// The complete file.
    ///
    /// Cost: linear in the number of tensors, blocks and metadata entries
    /// (plus the sort of the metadata keys) and in the bytes compressed.
    public func encode() throws -> [UInt8] {
        // Encode every block (in parallel; each result lands in its block's slot).
        let jobs: [(tensor: Int, block: Int)] = pending.enumerated().flatMap { t, tensor in
            (0..<((tensor.bytes.count + tensor.blockSize - 1) / tensor.blockSize)).map { (t, $0) }
        }
        let pending = self.pending
        let results = ThreadPool.shared.map(jobs.count, threads: options.threads) { j in
            let (t, b) = jobs[j]
            return Result { try Self.encodeBlock(pending[t], index: b) }
        }
        var encoded: [[UInt8]] = []
        encoded.reserveCapacity(jobs.count)
        for result in results { encoded.append(try result.get()) }

        // Lay out: manifest length does not depend on offsets (fixed-width fields).
        let entries = metadata.map { MetadataEntry(key: $0.key, value: $0.value) }
            .sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        func manifest(dataOffset: Int) -> (Manifest, end: Int) {
            var next = dataOffset
            var end = dataOffset
            var j = 0
            var tensors: [TensorEntry] = []
            for tensor in pending {
                var blocks: [BlockEntry] = []
                let count = (tensor.bytes.count + tensor.blockSize - 1) / tensor.blockSize
                for b in 0..<count {
                    let stored = encoded[j]
                    j += 1
                    let raw = min(tensor.blockSize, tensor.bytes.count - b * tensor.blockSize)
                    blocks.append(BlockEntry(offset: next, storedLength: stored.count, rawLength: raw, checksum: XXHash.xxh3(stored)))
                    end = next + stored.count
                    next = FormatLimits.align(end) ?? end
                }
                tensors.append(TensorEntry(
                    name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, codec: tensor.codec,
                    filter: tensor.filter, blockSize: tensor.blockSize, blocks: blocks, indexOffset: 0))
            }
            return (Manifest(metadata: entries, tensors: tensors), end)
        }
        let manifestLength = manifest(dataOffset: 0).0.serialize().count
        guard manifestLength <= FormatLimits.maxManifestLength else {
            throw TXWFormatError.invalidArgument(what: "index", detail: "\(manifestLength) bytes, above the limit \(FormatLimits.maxManifestLength)")
        }
        let dataOffset = FormatLimits.align(FormatLimits.headerSize + manifestLength) ?? 0
        let (final, fileLength) = manifest(dataOffset: dataOffset)
        var body = final.serialize()
        body.append(contentsOf: repeatElement(0, count: dataOffset - FormatLimits.headerSize - body.count))
        let header = FileHeader(
            minor: minorVersion, manifestLength: manifestLength, dataOffset: dataOffset, fileLength: fileLength,
            manifestChecksum: XXHash.xxh3(body))
        var file = header.serialize()
        file.reserveCapacity(fileLength)
        file.append(contentsOf: body)
        for stored in encoded {
            if file.count % FormatLimits.alignment != 0 {
                file.append(contentsOf: repeatElement(0, count: FormatLimits.alignment - file.count % FormatLimits.alignment))
            }
            file.append(contentsOf: stored)
        }
        return file
    }

    /// Writes the file atomically (Spec/txw-format.md §1.7); replaces an
    /// existing `path` only when `overwrite` is true.
    public func write(to path: String, overwrite: Bool = false) throws {
        try AtomicFile.write(try encode(), to: path, overwrite: overwrite)
    }

    static func encodeBlock(_ tensor: PendingTensor, index: Int) throws -> [UInt8] {
        let start = index * tensor.blockSize
        let end = min(start + tensor.blockSize, tensor.bytes.count)
        return try tensor.bytes.withUnsafeBytes { all in
            let raw = UnsafeRawBufferPointer(rebasing: all[start..<end])
            var filtered = [UInt8](repeating: 0, count: raw.count)
            filtered.withUnsafeMutableBytes { dst in
                if tensor.filter == .byteShuffle {
                    ByteShuffle.shuffle(raw, elementSize: tensor.dtype.size, into: dst)
                } else {
                    dst.copyMemory(from: raw)
                }
            }
            guard tensor.codec == .zstd else { return filtered }
            let compressed = filtered.withUnsafeBytes { buffer in
                Result { () throws(ZstdError) in try Zstd.compress(buffer, level: tensor.level) }
            }
            return try compressed.mapError { TXWFormatError.compression(tensor: tensor.name, block: index, zstd: $0) }.get()
        }
    }

    static func checkName(_ name: String, what: String) throws {
        let length = name.utf8.count
        guard length >= 1, length <= FormatLimits.maxNameLength else {
            throw TXWFormatError.invalidArgument(what: "\(what) '\(name)'", detail: "\(length) bytes of UTF-8, must be 1…\(FormatLimits.maxNameLength)")
        }
    }

    static func checkString(_ s: String, what: String) throws {
        guard s.utf8.count <= FormatLimits.maxStringLength else {
            throw TXWFormatError.invalidArgument(what: what, detail: "a string of \(s.utf8.count) bytes, limit \(FormatLimits.maxStringLength)")
        }
    }
}
