import TXWFormat

/// Reads the arrays of an `.npz` archive: each member a `.npy` file, stored
/// or deflated, checked against its central directory record (sizes, CRC-32).
enum NPZReader {
    static let suffix = ".npy"

    /// Every member's array, in central directory (archive) order.
    static func read(_ file: ImportBytes, budget: MemoryBudget = .unlimited) throws -> [ImportedArray] {
        try readFile(file, budget: budget).arrays
    }

    /// Every member's array, in central directory (archive) order, and the
    /// map of the metadata member (`ExchangeMetadata.npzMember`), which is
    /// not an array of the result.
    static func readFile(_ file: ImportBytes, budget: MemoryBudget = .unlimited) throws -> ImportedFile {
        let (entries, directoryOffset) = try ZipArchive.entries(of: file)
        // Names first: a member that is not an array is refused before any data is read.
        var names: [String] = []
        names.reserveCapacity(entries.count)
        for entry in entries {
            guard entry.name.hasSuffix(suffix) else {
                throw ImportError.malformed(what: entry.what, offset: entry.recordOffset,
                                            expected: "a member name ending in '.npy'", found: "'\(entry.name)'")
            }
            let name = String(entry.name.dropLast(suffix.count))
            guard !name.isEmpty else {
                throw ImportError.malformed(what: entry.what, offset: entry.recordOffset,
                                            expected: "an array name before '.npy'", found: "an empty name")
            }
            names.append(name)
        }
        // Every member's declared size (bounded by the directory's checks),
        // plus one more for the largest: a Fortran-order array is copied.
        let largest = entries.reduce(0) { max($0, $1.uncompressedSize) }
        try budget.check(MemoryBudget.sum(entries.map(\.uncompressedSize) + [largest]),
                         for: "the \(entries.count) npz arrays (their declared uncompressed sizes)")
        let data = try ZipArchive.memberData(entries, in: file, directoryOffset: directoryOffset)
        var arrays: [ImportedArray] = []
        var metadata: [String: String] = [:]
        arrays.reserveCapacity(entries.count)
        for (i, entry) in entries.enumerated() {
            if names[i] == ExchangeMetadata.npzMember {
                metadata = try metadataMap(entry, data: data[i])
            } else {
                arrays.append(try array(entry, data: data[i], name: names[i]))
            }
        }
        return ImportedFile(format: .npz, arrays: arrays, metadata: metadata)
    }

    /// The metadata member: a one-dimensional `|u1` array holding a UTF-8
    /// JSON object of strings.
    static func metadataMap(_ entry: ZipEntry, data: ImportBytes) throws -> [String: String] {
        let stream = try MemberStream(data: data, method: entry.method, declaredSize: entry.uncompressedSize, what: entry.what)
        let header = try NPYHeader.readFields(from: stream)
        let headerEnd = stream.position
        guard ["|u1", "<u1", "=u1", ">u1", "u1"].contains(header.descr), header.shape.count == 1 else {
            throw ImportError.malformed(what: "\(entry.what) .npy header", offset: stream.fileOffset(0),
                                        expected: "a one-dimensional '|u1' array (UTF-8 JSON)",
                                        found: "'\(header.descr)' of shape \(shapeText(header.shape))")
        }
        let count = header.shape[0]
        let implied = try Checked<ImportError>.add(headerEnd, count, "\(entry.what) size", offset: entry.recordOffset)
        guard implied == entry.uncompressedSize else {
            throw ImportError.sizeMismatch(what: "\(entry.what) uncompressed size", offset: entry.recordOffset + 24,
                                           expected: implied, found: entry.uncompressedSize)
        }
        let bytes = try stream.read(count, "metadata JSON")
        try stream.finish()
        guard stream.crc == entry.crc else {
            throw ImportError.checksum(what: entry.what, offset: entry.localHeaderOffset, expected: entry.crc, found: stream.crc)
        }
        return try ExchangeMetadata.parseMap(bytes, what: "\(entry.what) JSON")
    }

    /// One member's array.
    static func array(_ entry: ZipEntry, data: ImportBytes, name: String) throws -> ImportedArray {
        // A stored member's checksum is checked first, so damage is reported
        // as damage rather than as whatever the damaged header says.
        if entry.method == 0 {
            let crc = CRC32.update(0, data.bytes)
            guard crc == entry.crc else {
                throw ImportError.checksum(what: entry.what, offset: entry.localHeaderOffset, expected: entry.crc, found: crc)
            }
        }
        let stream = try MemberStream(data: data, method: entry.method, declaredSize: entry.uncompressedSize, what: entry.what)
        let header = try NPYHeader.read(from: stream)
        let headerEnd = stream.position
        let byteCount = try ShapeCheck.byteCount(header.shape, dtype: header.dtype, "\(entry.what) .npy header", offset: stream.fileOffset(0))
        // The member must hold exactly the data the header implies; checked
        // before allocating, so the buffer is bounded by the validated size.
        let implied = try Checked<ImportError>.add(headerEnd, byteCount, "\(entry.what) size", offset: entry.recordOffset)
        guard implied == entry.uncompressedSize else {
            throw ImportError.sizeMismatch(
                what: "\(entry.what) (shape \(shapeText(header.shape)) of '\(header.descr)' after a \(headerEnd)-byte header): uncompressed size",
                offset: entry.recordOffset + 24, expected: implied, found: entry.uncompressedSize)
        }
        var bytes = try stream.read(byteCount, "array data")
        try stream.finish()
        guard stream.crc == entry.crc else {
            throw ImportError.checksum(what: entry.what, offset: entry.localHeaderOffset, expected: entry.crc, found: stream.crc)
        }
        if header.bigEndian { ArrayLayout.byteSwap(&bytes, elementSize: header.dtype.size) }
        if header.fortranOrder { bytes = ArrayLayout.fortranToC(bytes, shape: header.shape, elementSize: header.dtype.size) }
        return ImportedArray(name: name, dtype: header.dtype, shape: header.shape, bytes: bytes)
    }

    static func shapeText(_ shape: [Int]) -> String {
        "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }
}
