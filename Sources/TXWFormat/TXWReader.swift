import Synchronization
import TXWThreads

/// Reads a `.txw` file (Spec/txw-format.md).
///
/// `init` maps the file, checks the header and both checksums that cover it
/// and parses the whole index, validating every offset and length against
/// the file size — without touching any data block. Tensors are decoded on
/// demand: each block's checksum is verified before it is decoded, and
/// decoding never produces more than the block's declared raw length.
public final class TXWReader: Sendable {
    /// How a reader decodes: a value given at open, so readers with
    /// different settings can work side by side.
    public struct Options: Sendable, Equatable {
        /// Threads that decode a tensor's blocks (below 1 counts as 1). The bytes never depend on it.
        public var decodeThreads: Int
        /// Advise large decode buffers to use transparent huge pages (Linux;
        /// about 500 times fewer page faults, no change to what is read).
        public var hugePages: Bool
        /// The most memory one read may allocate: a tensor's decoded bytes
        /// and values (`read(named:as:)`, `readBytes`), all tensors at once,
        /// or `verify()`'s scratch. A read that needs more throws
        /// `TXWFormatError.overMemoryBudget` before allocating anything.
        public var memoryBudget: MemoryBudget

        /// The default thread count: the processors this process may run on, at most 8.
        public static var defaultThreads: Int { ThreadPool.defaultThreads }

        /// `decodeThreads` threads (default: `defaultThreads`), huge-page
        /// advice on unless `hugePages` is false, reads bounded by
        /// `memoryBudget` (default: `MemoryBudget.systemDefault`).
        public init(decodeThreads: Int = Options.defaultThreads, hugePages: Bool = true,
                    memoryBudget: MemoryBudget = .systemDefault) {
            self.decodeThreads = decodeThreads
            self.hugePages = hugePages
            self.memoryBudget = memoryBudget
        }
    }

    /// The path given to `init`, or the name given to `init(bytes:name:)`.
    public let path: String
    /// The file's format version (major 1).
    public let version: FormatVersion
    /// Metadata in file order (ascending key bytes).
    public let metadata: [MetadataEntry]
    /// The tensor index in file order.
    public let tensors: [TensorEntry]
    /// The file's size in bytes.
    public let fileSize: Int
    /// The header's `header_checksum` (§1.2): it covers the manifest's
    /// checksum, which covers every block's, so it identifies the file's contents.
    public let headerChecksum: UInt64
    /// How this reader decodes.
    public let options: Options

    let file: MappedFile
    private let decodedBlocks = Atomic<Int>(0)
    /// Positions in `tensors` and `metadata` by name bytes (names are
    /// compared as bytes: two spellings of "é" are different names).
    private let tensorIndex: [[UInt8]: Int]
    private let metadataIndex: [[UInt8]: Int]

    /// Opens and validates the file at `path` (memory-mapped).
    public convenience init(path: String, options: Options = Options()) throws {
        try self.init(file: MappedFile(path: path), options: options)
    }

    /// Validates `bytes` as a txw file held in memory; `name` stands for the path in messages.
    public convenience init(bytes: [UInt8], name: String = "<memory>", options: Options = Options()) throws {
        try self.init(file: MappedFile(copying: bytes, name: name), options: options)
    }

    init(file: MappedFile, options: Options = Options()) throws {
        self.file = file
        self.options = options
        path = file.path
        fileSize = file.bytes.count
        let header = try FileHeader.parse(file.bytes)
        headerChecksum = UInt64(littleEndian: file.bytes.loadUnaligned(fromByteOffset: 56, as: UInt64.self))
        let manifestBytes = UnsafeRawBufferPointer(
            rebasing: file.bytes[FormatLimits.headerSize..<(FormatLimits.headerSize + header.manifestLength)])
        let manifest = try Manifest.parse(manifestBytes, dataOffset: header.dataOffset, fileSize: fileSize)
        version = FormatVersion(major: header.major, minor: header.minor)
        metadata = manifest.metadata
        tensors = manifest.tensors
        tensorIndex = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { (Array($1.name.utf8), $0) })
        metadataIndex = Dictionary(uniqueKeysWithValues: metadata.enumerated().map { (Array($1.key.utf8), $0) })
    }

    /// The value of metadata `key`, if present.
    public func metadata(_ key: String) -> MetadataValue? {
        metadataIndex[Array(key.utf8)].map { metadata[$0].value }
    }

    /// The index entry of tensor `name`, if present.
    public func tensor(named name: String) -> TensorEntry? {
        tensorIndex[Array(name.utf8)].map { tensors[$0] }
    }

    /// How many blocks this reader has decoded so far (for tests and tools).
    package var blocksDecoded: Int { decodedBlocks.load(ordering: .relaxed) }

    /// The raw little-endian bytes of tensor `name`, every block verified.
    public func readBytes(named name: String) throws -> [UInt8] {
        guard let entry = tensor(named: name) else { throw TXWFormatError.noSuchTensor(name: name) }
        return try decodeBytes(entry)
    }

    /// The values of tensor `name` converted to `T`.
    ///
    /// f32 read as `Float` and f64 as `Double` are decoded straight into the
    /// result; other pairs decode the bytes, then convert them.
    ///
    /// - Throws: `TXWFormatError.overMemoryBudget` when the result (and the
    ///   decoded bytes, when converted) would exceed `options.memoryBudget`.
    public func read<T: BinaryFloatingPoint>(named name: String, as type: T.Type = T.self) throws -> [T] {
        guard let entry = tensor(named: name) else { throw TXWFormatError.noSuchTensor(name: name) }
        let count = entry.elementCount
        #if _endian(little)
        if (T.self == Float.self && entry.dtype == .f32) || (T.self == Double.self && entry.dtype == .f64) {
            try options.memoryBudget.check(
                Self.readNeed(entry, as: MemoryLayout<T>.size, converting: false, threads: options.decodeThreads), for: Self.describe(entry, as: T.self))
            return try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                try decode(entry, into: UnsafeMutableRawBufferPointer(buffer))
                initialized = count
            }
        }
        #endif
        try options.memoryBudget.check(
            Self.readNeed(entry, as: MemoryLayout<T>.size, converting: true, threads: options.decodeThreads), for: Self.describe(entry, as: T.self))
        let bytes = try decodeBytes(entry)
        return bytes.withUnsafeBytes { ElementCoding.decode($0, as: entry.dtype, to: T.self) }
    }

    /// The bytes `read(named:as:)` holds at once for `entry` read as values
    /// of `size` bytes: the values, plus the decoded bytes when `converting`,
    /// plus the decoders' scratch on `threads` threads (`decodeScratch`).
    package static func readNeed(_ entry: TensorEntry, as size: Int, converting: Bool, threads: Int) -> Int? {
        MemoryBudget.sum([MemoryBudget.bytes(count: entry.elementCount, size: size), converting ? entry.rawSize : 0,
                          decodeScratch([entry], threads: threads)])
    }

    /// The scratch `decode` allocates for the blocks of `entries` on
    /// `threads` threads: one buffer of the largest byte-shuffled block
    /// (≤ 64 MiB) for each part, min(threads, blocks) parts; nil on overflow.
    package static func decodeScratch(_ entries: [TensorEntry], threads: Int) -> Int? {
        var largest = 0, blocks = 0
        for entry in entries {
            blocks += entry.blocks.count  // ≤ 65,536 tensors of ≤ 2^31 blocks: no overflow
            if entry.filter == .byteShuffle { largest = max(largest, entry.blocks.reduce(0) { max($0, $1.rawLength) }) }
        }
        return MemoryBudget.bytes(count: max(1, min(threads, blocks)), size: largest)
    }

    /// "tensor 'NAME' decoded as f64" (the precision of `T`).
    static func describe<T>(_ entry: TensorEntry, as type: T.Type) -> String {
        let precision = T.self == Double.self ? "f64" : T.self == Float.self ? "f32" : "\(T.self)"
        return "tensor '\(DisplayText.escaped(entry.name))' decoded as \(precision)"
    }

    /// The raw bytes of `entry`, one of this reader's `tensors`.
    /// Blocks are verified and decoded in parallel (`options.decodeThreads`); the
    /// error of the lowest damaged block is thrown.
    ///
    /// - Throws: `TXWFormatError.noSuchTensor` when `entry` is not one of
    ///   this reader's `tensors` (an entry of another file), or the error of
    ///   the first damaged block.
    public func readBytes(_ entry: TensorEntry) throws -> [UInt8] {
        // The blocks' offsets are trusted below: they must be this file's.
        guard let own = tensor(named: entry.name), own == entry else {
            throw TXWFormatError.noSuchTensor(name: entry.name)
        }
        return try decodeBytes(own)
    }

    /// `readBytes(_:)` for an entry of this reader's index (its need checked against the budget).
    private func decodeBytes(_ entry: TensorEntry) throws -> [UInt8] {
        try options.memoryBudget.check(MemoryBudget.sum([entry.rawSize, Self.decodeScratch([entry], threads: options.decodeThreads)]),
                                       for: "tensor '\(DisplayText.escaped(entry.name))' (\(entry.dtype) bytes)")
        return try [UInt8](unsafeUninitializedCapacity: entry.rawSize) { buffer, initialized in
            try decode(entry, into: UnsafeMutableRawBufferPointer(buffer))
            initialized = entry.rawSize
        }
    }

    /// Decodes every block of `entry` into `buffer` (`entry.rawSize` bytes).
    private func decode(_ entry: TensorEntry, into buffer: UnsafeMutableRawBufferPointer) throws {
        try decode(entry.blocks.indices.map { (entry, $0, $0 * entry.blockSize) }, into: buffer)
    }

    /// The raw bytes of every tensor in one buffer, `ranges[i]` holding
    /// tensor i (index order): all blocks of all tensors verified and decoded
    /// in one parallel pass (`options.decodeThreads`), with no copy; the error of the
    /// first damaged block in file order is thrown.
    package func readAllBytes() throws -> (bytes: [UInt8], ranges: [Range<Int>]) {
        var ranges: [Range<Int>] = []
        var total = 0
        for entry in tensors {
            ranges.append(total..<(total + entry.rawSize))
            total += entry.rawSize  // ≤ 65536 tensors of ≤ 2^43 bytes: no overflow
        }
        try options.memoryBudget.check(MemoryBudget.sum([total, Self.decodeScratch(tensors, threads: options.decodeThreads)]),
                                       for: "all \(tensors.count) tensors of \(DisplayText.escaped(path))")
        var jobs: [(TensorEntry, Int, Int)] = []
        for (t, entry) in tensors.enumerated() {
            for index in entry.blocks.indices { jobs.append((entry, index, ranges[t].lowerBound + index * entry.blockSize)) }
        }
        let bytes = try [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            initialized = total
            try decode(jobs, into: UnsafeMutableRawBufferPointer(buffer))
        }
        return (bytes, ranges)
    }

    /// Decodes each (tensor, block, destination offset) into `base`, on up to
    /// `options.decodeThreads` threads of the shared `ThreadPool`; throws the
    /// error of the first failing job.
    ///
    /// Each part claims jobs in order from a shared counter and uses one
    /// scratch buffer for the byte-shuffled planes; every part's state is
    /// allocated here, on the calling thread, and freed on return, so the
    /// pool's worker threads allocate nothing (their allocator arenas stay
    /// empty, and a load's peak memory does not depend on which thread ran
    /// what). A large destination is first advised to use huge pages, which
    /// cuts its page faults (each one zeroes and maps a page) about 500-fold.
    private func decode(_ jobs: [(entry: TensorEntry, block: Int, start: Int)], into base: UnsafeMutableRawBufferPointer) throws {
        if options.hugePages { HugePages.advise(base) }
        let failures = Mutex<[(Int, any Error)]>([])
        let next = Atomic<Int>(0)
        // UnsafeShared rule 1: each job's destination range is its own
        // (blocks of a tensor, tensors in `readAllBytes`, never overlap).
        let base = UnsafeShared(base)
        let scratchSize = jobs.reduce(0) { max($0, $1.entry.filter == .byteShuffle ? $1.entry.blocks[$1.block].rawLength : 0) }
        let parts = max(1, min(options.decodeThreads, jobs.count))
        let decoders = try (0..<parts).map { _ in try BlockDecoder(scratchBytes: scratchSize) }
        ThreadPool.shared.run(parts: parts, threads: parts) { p in
            let decoder = decoders[p]  // part p's own (UnsafeShared rule 3)
            while true {
                let j = next.add(1, ordering: .relaxed).oldValue
                guard j < jobs.count else { return }
                let (entry, index, start) = jobs[j]
                do {
                    try self.decodeBlock(entry, index, into: UnsafeMutableRawBufferPointer(
                        rebasing: base.pointer[start..<(start + entry.blocks[index].rawLength)]), with: decoder)
                } catch {
                    failures.withLock { $0.append((j, error)) }
                }
            }
        }
        if let first = failures.withLock({ $0.min { $0.0 < $1.0 } }) { throw first.1 }
    }

    /// Hands the raw bytes of `entry` (one of this reader's `tensors`) to
    /// `body` one block at a time, in index order: each block's checksum and
    /// padding verified before it is decoded, one block and its scratch held
    /// at once (checked against `options.memoryBudget` first). For consumers
    /// that stream a tensor's bytes (the content digest) without holding it.
    ///
    /// - Throws: `TXWFormatError.noSuchTensor` for an entry of another file,
    ///   `.overMemoryBudget`, the first damaged block's error, or what `body` throws.
    package func forEachBlock(of entry: TensorEntry, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let own = tensor(named: entry.name), own == entry else { throw TXWFormatError.noSuchTensor(name: entry.name) }
        let largest = own.blocks.reduce(0) { max($0, $1.rawLength) }  // each ≤ 64 MiB
        let scratch = own.filter == .byteShuffle ? largest : 0
        try options.memoryBudget.check(largest + scratch, for: "tensor '\(DisplayText.escaped(own.name))' (one block and its scratch)")
        let decoder = try BlockDecoder(scratchBytes: scratch)
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: max(largest, 1), alignment: 64)
        defer { out.deallocate() }
        for (index, block) in own.blocks.enumerated() {
            let dst = UnsafeMutableRawBufferPointer(rebasing: out[0..<block.rawLength])
            try decodeBlock(own, index, into: dst, with: decoder)
            try body(UnsafeRawBufferPointer(dst))
        }
    }

    /// Decodes every block of every tensor and checks every checksum and all
    /// padding; returns every problem found (empty when the file is intact).
    /// When decoding cannot start (libzstd cannot allocate a context), that
    /// failure is the one problem returned: it names no block, as none was read.
    public func verify() -> [TXWFormatError] {
        verify(makeDecoder: BlockDecoder.init(scratchBytes:))
    }

    /// `verify()` with the decoder made by `makeDecoder` (tests inject a failure).
    func verify(makeDecoder: (Int) throws(TXWFormatError) -> BlockDecoder) -> [TXWFormatError] {
        verify(makeDecoder: makeDecoder, countingNonFinite: false).problems
    }

    /// `verify()`, and the non-finite values (NaN, ±inf) of every tensor,
    /// one count per entry of `tensors`, counted in the blocks as they are
    /// decoded (a damaged block's values are not counted). Non-finite values
    /// are not damage: the file holds what was written.
    public func verifyCountingNonFinite() -> (problems: [TXWFormatError], nonFinite: [NonFiniteCount]) {
        verify(makeDecoder: BlockDecoder.init(scratchBytes:), countingNonFinite: true)
    }

    func verify(
        makeDecoder: (Int) throws(TXWFormatError) -> BlockDecoder, countingNonFinite: Bool
    ) -> (problems: [TXWFormatError], nonFinite: [NonFiniteCount]) {
        var problems: [TXWFormatError] = []
        var nonFinite = [NonFiniteCount](repeating: NonFiniteCount(), count: countingNonFinite ? tensors.count : 0)
        // Scratch only for byte-shuffled blocks, as `decode` (it bounds what verifying allocates).
        let largest = tensors.reduce(0) { $1.filter == .byteShuffle ? max($0, $1.blocks.reduce(0) { max($0, $1.rawLength) }) : $0 }
        // The output buffer holds the largest block (each ≤ 64 MiB, so no overflow).
        let largestBlock = tensors.reduce(0) { max($0, $1.blocks.reduce(0) { max($0, $1.rawLength) }) }
        let decoder: BlockDecoder
        do {
            try options.memoryBudget.check(largest + largestBlock, for: "verifying (a block and its scratch)")
            decoder = try makeDecoder(largest)
        } catch {
            return ([error], nonFinite)
        }
        var out: [UInt8] = []
        for (tensorIndex, entry) in tensors.enumerated() {
            var firstElement = 0
            for (index, block) in entry.blocks.enumerated() {
                defer { firstElement += block.rawLength / entry.dtype.size }
                if out.count < block.rawLength { out = [UInt8](repeating: 0, count: block.rawLength) }
                let result = out.withUnsafeMutableBytes { dst in
                    Result { () throws(TXWFormatError) in
                        try decodeBlock(entry, index, into: UnsafeMutableRawBufferPointer(rebasing: dst[0..<block.rawLength]), with: decoder)
                    }
                }
                switch result {
                case let .failure(problem): problems.append(problem)
                case .success where countingNonFinite:
                    out.withUnsafeBytes { decoded in
                        nonFinite[tensorIndex].add(
                            UnsafeRawBufferPointer(rebasing: decoded[0..<block.rawLength]), dtype: entry.dtype, firstElement: firstElement)
                    }
                case .success: break
                }
            }
        }
        return (problems, nonFinite)
    }

    /// Verifies, checks the padding after, and decodes block `index` of `entry`
    /// into `dst` (exactly `rawLength` bytes); `decoder`'s scratch holds at
    /// least `rawLength` bytes when the tensor is byte-shuffled.
    func decodeBlock(_ entry: TensorEntry, _ index: Int, into dst: UnsafeMutableRawBufferPointer,
                     with decoder: BlockDecoder) throws(TXWFormatError) {
        let block = entry.blocks[index]
        let end = block.offset + block.storedLength  // ≤ fileSize: checked by the index parser
        let stored = UnsafeRawBufferPointer(rebasing: file.bytes[block.offset..<end])
        let found = XXHash.xxh3(stored)
        guard found == block.checksum else {
            throw TXWFormatError.blockChecksum(
                tensor: entry.name, block: index, offset: block.offset, expected: block.checksum, found: found)
        }
        let paddingEnd = min(FormatLimits.align(end) ?? fileSize, fileSize)
        for i in end..<paddingEnd where file.bytes[i] != 0 {
            throw TXWFormatError.layout(
                what: "padding after tensor '\(DisplayText.escaped(entry.name))' block \(index)", offset: i, expected: "0", found: "\(file.bytes[i])")
        }
        let size = entry.dtype.size
        switch (entry.codec, entry.filter) {
        case (.stored, .identity):
            dst.copyMemory(from: stored)
        case (.stored, .byteShuffle):
            ByteShuffle.unshuffle(stored, elementSize: size, into: dst)
        case (.zstd, .identity):
            try decompress(stored, into: dst, entry, index, decoder)
        case (.zstd, .byteShuffle):
            let planes = UnsafeMutableRawBufferPointer(rebasing: decoder.scratch[0..<block.rawLength])
            try decompress(stored, into: planes, entry, index, decoder)
            ByteShuffle.unshuffle(UnsafeRawBufferPointer(planes), elementSize: size, into: dst)
        }
        decodedBlocks.add(1, ordering: .relaxed)
        file.release(block.offset..<end)
    }

    private func decompress(
        _ stored: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer, _ entry: TensorEntry, _ index: Int,
        _ decoder: BlockDecoder
    ) throws(TXWFormatError) {
        do {
            try Zstd.decompressFrame(stored, into: dst, context: decoder.zstd)
        } catch {
            throw .decode(tensor: entry.name, block: index, offset: entry.blocks[index].offset, zstd: error)
        }
    }
}

/// The format version of a file.
public struct FormatVersion: Sendable, Equatable, CustomStringConvertible {
    /// The major version: a reader reads only the major versions it knows (1).
    public let major: UInt16
    /// The minor version: additions a reader of the same major version may ignore.
    public let minor: UInt16
    /// The version `major.minor`.
    public init(major: UInt16, minor: UInt16) {
        self.major = major
        self.minor = minor
    }
    public var description: String { "\(major).\(minor)" }
}
