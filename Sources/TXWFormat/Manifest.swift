/// The manifest of §1.3: the metadata entries, then the tensor index.
struct Manifest: Equatable {
    var metadata: [MetadataEntry]
    var tensors: [TensorEntry]

    // MARK: Writing

    /// The manifest bytes. Metadata must already be sorted by key bytes.
    func serialize() -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(metadata.count))
        for entry in metadata {
            let key = Array(entry.key.utf8)
            w.u16(UInt16(key.count))
            w.append(key)
            w.u8(entry.value.typeCode)
            switch entry.value {
            case let .int(v): w.u64(UInt64(bitPattern: v))
            case let .float(v): w.u64(v.bitPattern)
            case let .bool(v): w.u8(v ? 1 : 0)
            case let .string(s):
                w.u32(UInt32(s.utf8.count))
                w.append(s.utf8)
            case let .strings(list):
                w.u32(UInt32(list.count))
                for s in list {
                    w.u32(UInt32(s.utf8.count))
                    w.append(s.utf8)
                }
            }
        }
        w.u32(UInt32(tensors.count))
        for t in tensors {
            let name = Array(t.name.utf8)
            w.u16(UInt16(name.count))
            w.append(name)
            w.u8(t.dtype.rawValue)
            w.u8(t.codec.rawValue)
            w.u8(t.filter.rawValue)
            w.u8(UInt8(t.shape.count))
            for d in t.shape { w.u64(UInt64(d)) }
            w.u64(UInt64(t.blockSize))
            w.u32(UInt32(t.blocks.count))
            for b in t.blocks {
                w.u64(UInt64(b.offset))
                w.u64(UInt64(b.storedLength))
                w.u64(UInt64(b.rawLength))
                w.u64(b.checksum)
            }
        }
        return w.bytes
    }

    // MARK: Reading

    /// Parses and validates the manifest bytes (at file offset 64) of a file of
    /// `fileSize` bytes whose data region starts at `dataOffset`: every rule of
    /// §1.3–1.4 that does not need the blocks' bytes.
    static func parse(_ bytes: UnsafeRawBufferPointer, dataOffset: Int, fileSize: Int) throws -> Manifest {
        var c = ByteCursor(bytes, base: FormatLimits.headerSize, region: "manifest")
        let metadata = try parseMetadata(&c)
        let tensors = try parseTensors(&c, dataOffset: dataOffset, fileSize: fileSize)
        guard c.remaining == 0 else {
            throw TXWFormatError.malformedManifest(
                what: "manifest end", offset: c.offset, detail: "\(c.remaining) bytes follow the last tensor entry")
        }
        return Manifest(metadata: metadata, tensors: tensors)
    }

    private static func parseMetadata(_ c: inout ByteCursor) throws -> [MetadataEntry] {
        let countOffset = c.offset
        let count = try c.u32("metadata_count")
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
            let typeOffset = c.offset
            let type = try c.u8("type of '\(key)'")
            let value: MetadataValue
            switch type {
            case 1: value = .int(Int64(bitPattern: try c.u64("value of '\(key)'")))
            case 2: value = .float(Double(bitPattern: try c.u64("value of '\(key)'")))
            case 3:
                let b = try c.u8("value of '\(key)'")
                guard b <= 1 else {
                    throw TXWFormatError.malformedManifest(what: "bool '\(key)'", offset: c.offset - 1, detail: "value \(b) is neither 0 nor 1")
                }
                value = .bool(b == 1)
            case 4: value = .string(try string(&c, what: "value of '\(key)'"))
            case 5:
                let listOffset = c.offset
                let n = try c.u32("string count of '\(key)'")
                guard n <= FormatLimits.maxStringsInList else {
                    throw TXWFormatError.limit(what: "string count of '\(key)'", offset: listOffset, value: "\(n)", limit: "\(FormatLimits.maxStringsInList)")
                }
                guard Int(n) <= c.remaining / 4 else {
                    throw TXWFormatError.malformedManifest(
                        what: "strings '\(key)'", offset: listOffset,
                        detail: "\(n) strings need at least \(4 * Int(n)) bytes, the manifest has \(c.remaining) left")
                }
                var list: [String] = []
                list.reserveCapacity(Int(n))
                for i in 0..<Int(n) { list.append(try string(&c, what: "string \(i) of '\(key)'")) }
                value = .strings(list)
            default:
                throw TXWFormatError.unknownValue(what: "metadata type of '\(key)'", value: Int(type), offset: typeOffset)
            }
            entries.append(MetadataEntry(key: key, value: value))
        }
        return entries
    }

    /// A u16-length-prefixed UTF-8 name of 1…255 bytes.
    private static func name(_ c: inout ByteCursor, what: String) throws -> String {
        let offset = c.offset
        let length = try c.u16("length of \(what)")
        guard length >= 1, length <= FormatLimits.maxNameLength else {
            throw TXWFormatError.limit(what: "length of \(what)", offset: offset, value: "\(length)", limit: "1…\(FormatLimits.maxNameLength)")
        }
        return try c.string(length: Int(length), what)
    }

    /// A u32-length-prefixed UTF-8 string of at most 16 MiB.
    private static func string(_ c: inout ByteCursor, what: String) throws -> String {
        let offset = c.offset
        let length = try c.u32("length of \(what)")
        guard length <= FormatLimits.maxStringLength else {
            throw TXWFormatError.limit(what: "length of \(what)", offset: offset, value: "\(length)", limit: "\(FormatLimits.maxStringLength)")
        }
        return try c.string(length: Int(length), what)
    }

    private static func parseTensors(_ c: inout ByteCursor, dataOffset: Int, fileSize: Int) throws -> [TensorEntry] {
        let countOffset = c.offset
        let count = try c.u32("tensor_count")
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
            let dtypeOffset = c.offset
            let dtypeCode = try c.u8("dtype of '\(name)'")
            guard let dtype = DType(rawValue: dtypeCode) else {
                throw TXWFormatError.unknownValue(what: "dtype of tensor '\(name)'", value: Int(dtypeCode), offset: dtypeOffset)
            }
            let codecCode = try c.u8("codec of '\(name)'")
            guard let codec = Codec(rawValue: codecCode) else {
                throw TXWFormatError.unknownValue(what: "codec of tensor '\(name)'", value: Int(codecCode), offset: dtypeOffset + 1)
            }
            let filterCode = try c.u8("filter of '\(name)'")
            guard let filter = Filter(rawValue: filterCode) else {
                throw TXWFormatError.unknownValue(what: "filter of tensor '\(name)'", value: Int(filterCode), offset: dtypeOffset + 2)
            }
            let rank = try c.u8("rank of '\(name)'")
            guard rank <= FormatLimits.maxRank else {
                throw TXWFormatError.limit(what: "rank of tensor '\(name)'", offset: dtypeOffset + 3, value: "\(rank)", limit: "\(FormatLimits.maxRank)")
            }
            var shape: [Int] = []
            for axis in 0..<Int(rank) {
                let dimOffset = c.offset
                let dim = try c.u64("dimension \(axis) of '\(name)'")
                guard dim >= 1, dim <= FormatLimits.maxDimension else {
                    throw TXWFormatError.limit(
                        what: "dimension \(axis) of tensor '\(name)'", offset: dimOffset, value: "\(dim)", limit: "1…\(FormatLimits.maxDimension)")
                }
                shape.append(Int(dim))
            }
            // The element count is checked once every dimension is read.
            var elements: UInt64 = 1
            for dim in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: UInt64(dim))
                guard !overflow, product <= FormatLimits.maxElements else {
                    throw TXWFormatError.limit(
                        what: "element count of tensor '\(name)'", offset: dtypeOffset + 4,
                        value: overflow ? "more than 2^64" : "\(product)", limit: "\(FormatLimits.maxElements)")
                }
                elements = product
            }
            let rawSize = Int(elements) * dtype.size  // ≤ 2^43
            let blockSizeOffset = c.offset
            let blockSize64 = try c.u64("block_size of '\(name)'")
            guard blockSize64 >= UInt64(FormatLimits.minBlockSize), blockSize64 <= UInt64(FormatLimits.maxBlockSize),
                  blockSize64 % UInt64(FormatLimits.alignment) == 0 else {
                throw TXWFormatError.limit(
                    what: "block_size of tensor '\(name)'", offset: blockSizeOffset, value: "\(blockSize64)",
                    limit: "\(FormatLimits.minBlockSize)…\(FormatLimits.maxBlockSize), a multiple of 64")
            }
            let blockSize = Int(blockSize64)
            let countOffset = c.offset
            let blockCount = try c.u32("block_count of '\(name)'")
            let expectedCount = (rawSize + blockSize - 1) / blockSize
            guard Int(blockCount) == expectedCount else {
                throw TXWFormatError.layout(
                    what: "block_count of tensor '\(name)'", offset: countOffset,
                    expected: "\(expectedCount) (\(rawSize) bytes in blocks of \(blockSize))", found: "\(blockCount)")
            }
            var blocks: [BlockEntry] = []
            for b in 0..<expectedCount {
                let blockEntryOffset = c.offset
                let offset = try c.u64("offset of block \(b) of '\(name)'")
                let stored = try c.u64("stored_length of block \(b) of '\(name)'")
                let raw = try c.u64("raw_length of block \(b) of '\(name)'")
                let checksum = try c.u64("checksum of block \(b) of '\(name)'")
                let where_ = "tensor '\(name)' block \(b)"
                let expectedRaw = min(blockSize, rawSize - b * blockSize)
                guard raw == UInt64(expectedRaw) else {
                    throw TXWFormatError.layout(what: "raw_length of \(where_)", offset: blockEntryOffset + 16, expected: "\(expectedRaw)", found: "\(raw)")
                }
                guard offset == UInt64(nextOffset) else {
                    let kind = offset < UInt64(nextOffset) ? "overlaps the previous block or is out of order" : "leaves a hole after the previous block"
                    throw TXWFormatError.layout(
                        what: "offset of \(where_) (\(kind))", offset: blockEntryOffset, expected: "\(nextOffset)", found: "\(offset)")
                }
                switch codec {
                case .stored:
                    guard stored == raw else {
                        throw TXWFormatError.layout(
                            what: "stored_length of \(where_) (codec stored)", offset: blockEntryOffset + 8, expected: "\(raw)", found: "\(stored)")
                    }
                case .zstd:
                    let bound = FormatLimits.maxZstdStoredLength(rawLength: expectedRaw)
                    let least = FormatLimits.minZstdStoredLength(rawLength: expectedRaw)
                    guard stored >= UInt64(least), stored <= UInt64(bound) else {
                        throw TXWFormatError.limit(what: "stored_length of \(where_)", offset: blockEntryOffset + 8, value: "\(stored)", limit: "\(least)…\(bound)")
                    }
                }
                let storedLength = Int(stored)  // bounded above
                let (end, overflow) = nextOffset.addingReportingOverflow(storedLength)
                guard !overflow, end <= fileSize else {
                    throw TXWFormatError.truncated(what: "\(where_)", offset: nextOffset, needed: storedLength, fileSize: fileSize)
                }
                blocks.append(BlockEntry(offset: nextOffset, storedLength: storedLength, rawLength: expectedRaw, checksum: checksum))
                // The next block starts at the next multiple of 64.
                nextOffset = FormatLimits.align(end) ?? Int.max
            }
            tensors.append(TensorEntry(
                name: name, dtype: dtype, shape: shape, codec: codec, filter: filter,
                blockSize: blockSize, blocks: blocks, indexOffset: entryOffset))
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
}
