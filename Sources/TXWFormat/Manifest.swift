/// The manifest of §1.3: the metadata entries, then the tensor index.
struct Manifest: Equatable {
    var metadata: [MetadataEntry]
    var tensors: [TensorEntry]

    // MARK: Writing

    /// The manifest bytes. Metadata must already be sorted by key bytes.
    func serialize() -> [UInt8] {
        var w = ByteWriter()
        w.writeInteger(UInt32(metadata.count))
        for entry in metadata {
            let key = Array(entry.key.utf8)
            w.writeInteger(UInt16(key.count))
            w.writeBytes(key)
            w.writeInteger(entry.value.typeCode)
            switch entry.value {
            case let .int(v): w.writeInteger(v)
            case let .float(v): w.writeInteger(v.bitPattern)
            case let .bool(v): w.writeInteger(UInt8(v ? 1 : 0))
            case let .string(s):
                w.writeInteger(UInt32(s.utf8.count))
                w.writeBytes(s.utf8)
            case let .strings(list):
                w.writeInteger(UInt32(list.count))
                for s in list {
                    w.writeInteger(UInt32(s.utf8.count))
                    w.writeBytes(s.utf8)
                }
            }
        }
        w.writeInteger(UInt32(tensors.count))
        for t in tensors {
            let name = Array(t.name.utf8)
            w.writeInteger(UInt16(name.count))
            w.writeBytes(name)
            w.writeInteger(t.dtype.rawValue)
            w.writeInteger(t.codec.rawValue)
            w.writeInteger(t.filter.rawValue)
            w.writeInteger(UInt8(t.shape.count))
            for d in t.shape { w.writeInteger(UInt64(d)) }
            w.writeInteger(UInt64(t.blockSize))
            w.writeInteger(UInt32(t.blocks.count))
            for b in t.blocks {
                w.writeInteger(UInt64(b.offset))
                w.writeInteger(UInt64(b.storedLength))
                w.writeInteger(UInt64(b.rawLength))
                w.writeInteger(b.checksum)
            }
        }
        return w.bytes
    }

    // MARK: Reading

    /// The manifest's bytes, read front to back; a read past their end is
    /// `malformedManifest`, naming the field.
    private typealias Cursor = ByteReader<TXWFormatError>

    /// Parses and validates the manifest bytes (at file offset 64) of a file of
    /// `fileSize` bytes whose data region starts at `dataOffset`: every rule of
    /// §1.3–1.4 that does not need the blocks' bytes.
    static func parse(_ bytes: UnsafeRawBufferPointer, dataOffset: Int, fileSize: Int) throws -> Manifest {
        var c = Cursor(bytes, base: FormatLimits.headerSize, region: "manifest")
        let metadata = try parseMetadata(&c)
        let tensors = try parseTensors(&c, dataOffset: dataOffset, fileSize: fileSize)
        guard c.readableBytes == 0 else {
            throw TXWFormatError.malformedManifest(
                what: "manifest end", offset: c.offset, detail: "\(c.readableBytes) bytes follow the last tensor entry")
        }
        return Manifest(metadata: metadata, tensors: tensors)
    }

    private static func parseMetadata(_ c: inout Cursor) throws -> [MetadataEntry] {
        let countOffset = c.offset
        let count = try c.readInteger(as: UInt32.self, "metadata_count")
        guard count <= FormatLimits.maxMetadataEntries else {
            throw TXWFormatError.limit(what: "metadata_count", offset: countOffset, value: "\(count)", limit: "\(FormatLimits.maxMetadataEntries)")
        }
        var entries: [MetadataEntry] = []
        var previousKey: [UInt8]? = nil
        for index in 0..<Int(count) {
            let entryOffset = c.offset
            let key = try name(&c, what: "metadata key \(index)")
            let keyBytes = Array(key.utf8)
            if let previous = previousKey {
                if previous == keyBytes {
                    throw TXWFormatError.duplicateName(what: "metadata key", name: key, offset: entryOffset)
                }
                guard previous.lexicographicallyPrecedes(keyBytes) else {
                    throw TXWFormatError.malformedManifest(
                        what: "metadata key '\(key)'", offset: entryOffset,
                        detail: "keys must be in ascending byte order; it follows '\(String(decoding: previous, as: UTF8.self))'")
                }
            }
            previousKey = keyBytes
            entries.append(MetadataEntry(key: key, value: try metadataValue(&c, key: key)))
        }
        return entries
    }

    /// The type code and value of the metadata entry `key`.
    private static func metadataValue(_ c: inout Cursor, key: String) throws -> MetadataValue {
        let typeOffset = c.offset
        let type = try c.readInteger(as: UInt8.self, "type of '\(key)'")
        switch type {
        case 1: return .int(try c.readInteger(as: Int64.self, "value of '\(key)'"))
        case 2: return .float(Double(bitPattern: try c.readInteger(as: UInt64.self, "value of '\(key)'")))
        case 3:
            let b = try c.readInteger(as: UInt8.self, "value of '\(key)'")
            guard b <= 1 else {
                throw TXWFormatError.malformedManifest(what: "bool '\(key)'", offset: c.offset - 1, detail: "value \(b) is neither 0 nor 1")
            }
            return .bool(b == 1)
        case 4: return .string(try string(&c, what: "value of '\(key)'"))
        case 5:
            let listOffset = c.offset
            let n = try c.readInteger(as: UInt32.self, "string count of '\(key)'")
            guard n <= FormatLimits.maxStringsInList else {
                throw TXWFormatError.limit(what: "string count of '\(key)'", offset: listOffset, value: "\(n)", limit: "\(FormatLimits.maxStringsInList)")
            }
            guard Int(n) <= c.readableBytes / 4 else {
                throw TXWFormatError.malformedManifest(
                    what: "strings '\(key)'", offset: listOffset,
                    detail: "\(n) strings need at least \(4 * Int(n)) bytes, the manifest has \(c.readableBytes) left")
            }
            var list: [String] = []
            list.reserveCapacity(Int(n))
            for i in 0..<Int(n) { list.append(try string(&c, what: "string \(i) of '\(key)'")) }
            return .strings(list)
        default:
            throw TXWFormatError.unknownValue(what: "metadata type of '\(key)'", value: Int(type), offset: typeOffset)
        }
    }

    /// A u16-length-prefixed UTF-8 name of 1…255 bytes.
    private static func name(_ c: inout Cursor, what: String) throws -> String {
        let offset = c.offset
        let length = try c.readInteger(as: UInt16.self, "length of \(what)")
        guard length >= 1, length <= FormatLimits.maxNameLength else {
            throw TXWFormatError.limit(what: "length of \(what)", offset: offset, value: "\(length)", limit: "1…\(FormatLimits.maxNameLength)")
        }
        return try c.readString(length: Int(length), what)
    }

    /// A u32-length-prefixed UTF-8 string of at most 16 MiB.
    private static func string(_ c: inout Cursor, what: String) throws -> String {
        let offset = c.offset
        let length = try c.readInteger(as: UInt32.self, "length of \(what)")
        guard length <= FormatLimits.maxStringLength else {
            throw TXWFormatError.limit(what: "length of \(what)", offset: offset, value: "\(length)", limit: "\(FormatLimits.maxStringLength)")
        }
        return try c.readString(length: Int(length), what)
    }

    /// The tensor index, and the check that the last block ends the file.
    private static func parseTensors(_ c: inout Cursor, dataOffset: Int, fileSize: Int) throws -> [TensorEntry] {
        let countOffset = c.offset
        let count = try c.readInteger(as: UInt32.self, "tensor_count")
        guard count <= FormatLimits.maxTensors else {
            throw TXWFormatError.limit(what: "tensor_count", offset: countOffset, value: "\(count)", limit: "\(FormatLimits.maxTensors)")
        }
        var tensors: [TensorEntry] = []
        var names = Set<[UInt8]>()
        var nextOffset = dataOffset  // where the next block must start
        for index in 0..<Int(count) {
            let entryOffset = c.offset
            let name = try name(&c, what: "tensor name \(index)")
            guard names.insert(Array(name.utf8)).inserted else {
                throw TXWFormatError.duplicateName(what: "tensor", name: name, offset: entryOffset)
            }
            tensors.append(try tensorEntry(&c, name: name, at: entryOffset, nextOffset: &nextOffset, fileSize: fileSize))
        }
        // The data ends exactly where the file does.
        let dataEnd = tensors.last?.blocks.last.map { $0.offset + $0.storedLength } ?? dataOffset
        guard dataEnd == fileSize else {
            throw TXWFormatError.layout(
                what: "end of the last block (trailing bytes after it)", offset: dataEnd,
                expected: "the file to end at \(dataEnd)", found: "\(fileSize - dataEnd) more bytes")
        }
        return tensors
    }

    /// The rest of the index entry of tensor `name` (which began at
    /// `entryOffset`): codes, shape, block size and its blocks, the first of
    /// which must start at `nextOffset` (moved past the last).
    private static func tensorEntry(
        _ c: inout Cursor, name: String, at entryOffset: Int, nextOffset: inout Int, fileSize: Int
    ) throws -> TensorEntry {
        let dtypeOffset = c.offset
        let dtypeCode = try c.readInteger(as: UInt8.self, "dtype of '\(name)'")
        guard let dtype = DType(rawValue: dtypeCode) else {
            throw TXWFormatError.unknownValue(what: "dtype of tensor '\(name)'", value: Int(dtypeCode), offset: dtypeOffset)
        }
        let codecCode = try c.readInteger(as: UInt8.self, "codec of '\(name)'")
        guard let codec = Codec(rawValue: codecCode) else {
            throw TXWFormatError.unknownValue(what: "codec of tensor '\(name)'", value: Int(codecCode), offset: dtypeOffset + 1)
        }
        let filterCode = try c.readInteger(as: UInt8.self, "filter of '\(name)'")
        guard let filter = Filter(rawValue: filterCode) else {
            throw TXWFormatError.unknownValue(what: "filter of tensor '\(name)'", value: Int(filterCode), offset: dtypeOffset + 2)
        }
        let (shape, elements) = try shape(&c, name: name, rankOffset: dtypeOffset + 3)
        let rawSize = elements * dtype.size  // ≤ 2^43
        let blockSizeOffset = c.offset
        let blockSize64 = try c.readInteger(as: UInt64.self, "block_size of '\(name)'")
        guard blockSize64 >= UInt64(FormatLimits.minBlockSize), blockSize64 <= UInt64(FormatLimits.maxBlockSize),
              blockSize64 % UInt64(FormatLimits.alignment) == 0 else {
            throw TXWFormatError.limit(
                what: "block_size of tensor '\(name)'", offset: blockSizeOffset, value: "\(blockSize64)",
                limit: "\(FormatLimits.minBlockSize)…\(FormatLimits.maxBlockSize), a multiple of 64")
        }
        let blockSize = Int(blockSize64)
        let countOffset = c.offset
        let blockCount = try c.readInteger(as: UInt32.self, "block_count of '\(name)'")
        let expectedCount = (rawSize + blockSize - 1) / blockSize
        guard Int(blockCount) == expectedCount else {
            throw TXWFormatError.layout(
                what: "block_count of tensor '\(name)'", offset: countOffset,
                expected: "\(expectedCount) (\(rawSize) bytes in blocks of \(blockSize))", found: "\(blockCount)")
        }
        var blocks: [BlockEntry] = []
        for b in 0..<expectedCount {
            let rawLength = min(blockSize, rawSize - b * blockSize)
            blocks.append(try blockEntry(
                &c, "tensor '\(name)' block \(b)", field: "of block \(b) of '\(name)'", codec: codec,
                rawLength: rawLength, offset: nextOffset, fileSize: fileSize))
            // The next block starts at the next multiple of 64.
            nextOffset = FormatLimits.align(blocks[b].offset + blocks[b].storedLength) ?? Int.max
        }
        return TensorEntry(
            name: name, dtype: dtype, shape: shape, codec: codec, filter: filter,
            blockSize: blockSize, blocks: blocks, indexOffset: entryOffset)
    }

    /// The rank (at `rankOffset`) and dimensions of tensor `name`, and its
    /// element count, checked once every dimension is read.
    private static func shape(_ c: inout Cursor, name: String, rankOffset: Int) throws -> (shape: [Int], elements: Int) {
        let rank = try c.readInteger(as: UInt8.self, "rank of '\(name)'")
        guard rank <= FormatLimits.maxRank else {
            throw TXWFormatError.limit(what: "rank of tensor '\(name)'", offset: rankOffset, value: "\(rank)", limit: "\(FormatLimits.maxRank)")
        }
        var shape: [Int] = []
        for axis in 0..<Int(rank) {
            let dimOffset = c.offset
            let dim = try c.readInteger(as: UInt64.self, "dimension \(axis) of '\(name)'")
            guard dim >= 1, dim <= FormatLimits.maxDimension else {
                throw TXWFormatError.limit(
                    what: "dimension \(axis) of tensor '\(name)'", offset: dimOffset, value: "\(dim)", limit: "1…\(FormatLimits.maxDimension)")
            }
            shape.append(Int(dim))
        }
        var elements: UInt64 = 1
        for dim in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: UInt64(dim))
            guard !overflow, product <= FormatLimits.maxElements else {
                throw TXWFormatError.limit(
                    what: "element count of tensor '\(name)'", offset: rankOffset + 1,
                    value: overflow ? "more than 2^64" : "\(product)", limit: "\(FormatLimits.maxElements)")
            }
            elements = product
        }
        return (shape, Int(elements))  // ≤ 2^40
    }

    /// One block entry (`where_` names the block in layout errors, `field`
    /// in read errors): its raw length must be `rawLength`, its offset
    /// `offset` (blocks are contiguous and in order, 64-aligned), its stored
    /// length within the codec's bounds and the file.
    private static func blockEntry(
        _ c: inout Cursor, _ where_: String, field: String, codec: Codec, rawLength: Int, offset expected: Int, fileSize: Int
    ) throws -> BlockEntry {
        let entryOffset = c.offset
        let offset = try c.readInteger(as: UInt64.self, "offset \(field)")
        let stored = try c.readInteger(as: UInt64.self, "stored_length \(field)")
        let raw = try c.readInteger(as: UInt64.self, "raw_length \(field)")
        let checksum = try c.readInteger(as: UInt64.self, "checksum \(field)")
        guard raw == UInt64(rawLength) else {
            throw TXWFormatError.layout(what: "raw_length of \(where_)", offset: entryOffset + 16, expected: "\(rawLength)", found: "\(raw)")
        }
        guard offset == UInt64(expected) else {
            let kind = offset < UInt64(expected) ? "overlaps the previous block or is out of order" : "leaves a hole after the previous block"
            throw TXWFormatError.layout(
                what: "offset of \(where_) (\(kind))", offset: entryOffset, expected: "\(expected)", found: "\(offset)")
        }
        switch codec {
        case .stored:
            guard stored == raw else {
                throw TXWFormatError.layout(
                    what: "stored_length of \(where_) (codec stored)", offset: entryOffset + 8, expected: "\(raw)", found: "\(stored)")
            }
        case .zstd:
            let bound = FormatLimits.maxZstdStoredLength(rawLength: rawLength)
            let least = FormatLimits.minZstdStoredLength(rawLength: rawLength)
            guard stored >= UInt64(least), stored <= UInt64(bound) else {
                throw TXWFormatError.limit(what: "stored_length of \(where_)", offset: entryOffset + 8, value: "\(stored)", limit: "\(least)…\(bound)")
            }
        }
        let storedLength = Int(stored)  // bounded above
        let (end, overflow) = expected.addingReportingOverflow(storedLength)
        guard !overflow, end <= fileSize else {
            throw TXWFormatError.truncated(what: "\(where_)", offset: expected, needed: storedLength, fileSize: fileSize)
        }
        return BlockEntry(offset: expected, storedLength: storedLength, rawLength: rawLength, checksum: checksum)
    }
}
