/// The 64-byte header of §1.2.
struct FileHeader: Equatable {
    var major: UInt16 = FormatLimits.majorVersion
    var minor: UInt16 = 0
    var manifestLength: Int
    var dataOffset: Int
    var fileLength: Int
    var manifestChecksum: UInt64

    /// The header bytes, `header_checksum` included.
    func serialize() -> [UInt8] {
        var w = ByteWriter()
        w.writeBytes(FormatLimits.magic)
        w.writeInteger(major)
        w.writeInteger(minor)
        w.writeInteger(UInt32(0))
        w.writeInteger(UInt64(manifestLength))
        w.writeInteger(UInt64(dataOffset))
        w.writeInteger(UInt64(fileLength))
        w.writeInteger(UInt64(0))
        w.writeInteger(manifestChecksum)
        w.writeInteger(XXHash.xxh3(w.bytes))
        return w.bytes
    }

    /// Parses and checks the header of `file` (the whole file's bytes) and the
    /// manifest checksum, in this order: magic, version, header checksum,
    /// reserved fields, manifest length, data offset, file length, manifest checksum.
    static func parse(_ file: UnsafeRawBufferPointer) throws -> FileHeader {
        let size = file.count
        let prefix = Array(file.prefix(8))
        guard prefix == Array(FormatLimits.magic.prefix(prefix.count)) else {
            throw TXWFormatError.badMagic(found: prefix)
        }
        guard size >= FormatLimits.headerSize else {
            throw TXWFormatError.truncated(what: "header", offset: 0, needed: FormatLimits.headerSize, fileSize: size)
        }
        var c = ByteReader<TXWFormatError>(UnsafeRawBufferPointer(rebasing: file[0..<FormatLimits.headerSize]), region: "header")
        _ = try c.readSlice(length: 8, "magic")
        let major = try c.readInteger(as: UInt16.self, "major version")
        let minor = try c.readInteger(as: UInt16.self, "minor version")
        guard major == FormatLimits.majorVersion else {
            throw TXWFormatError.unsupportedVersion(major: major, minor: minor)
        }
        let stored = try c.getInteger(at: 56, as: UInt64.self, "header_checksum")
        let computed = XXHash.xxh3(UnsafeRawBufferPointer(rebasing: file[0..<56]))
        guard stored == computed else {
            throw TXWFormatError.headerChecksum(expected: stored, found: computed)
        }
        let reserved1 = try c.readInteger(as: UInt32.self, "reserved")
        guard reserved1 == 0 else {
            throw TXWFormatError.layout(what: "reserved header field", offset: 12, expected: "0", found: "\(reserved1)")
        }
        let manifestLength = try c.readInteger(as: UInt64.self, "manifest_length")
        let dataOffset = try c.readInteger(as: UInt64.self, "data_offset")
        let fileLength = try c.readInteger(as: UInt64.self, "file_length")
        let reserved2 = try c.readInteger(as: UInt64.self, "reserved")
        guard reserved2 == 0 else {
            throw TXWFormatError.layout(what: "reserved header field", offset: 40, expected: "0", found: "\(reserved2)")
        }
        let manifestChecksum = try c.readInteger(as: UInt64.self, "manifest_checksum")
        guard manifestLength >= 1, manifestLength <= UInt64(FormatLimits.maxManifestLength) else {
            throw TXWFormatError.limit(
                what: "manifest_length", offset: 16, value: "\(manifestLength)", limit: "1…\(FormatLimits.maxManifestLength)")
        }
        let length = Int(manifestLength)  // ≤ 2^28: fits
        guard let expectedDataOffset = FormatLimits.align(FormatLimits.headerSize + length),
              dataOffset == UInt64(expectedDataOffset) else {
            throw TXWFormatError.layout(
                what: "data_offset", offset: 24,
                expected: "align64(64 + \(length))", found: "\(dataOffset)")
        }
        guard fileLength == UInt64(size) else {
            if fileLength > UInt64(size) {
                throw TXWFormatError.truncated(what: "file (header's file_length)", offset: 0, needed: Int(clamping: fileLength), fileSize: size)
            }
            throw TXWFormatError.layout(
                what: "file_length", offset: 32, expected: "\(size) (the file's size)", found: "\(fileLength)")
        }
        guard expectedDataOffset <= size else {
            throw TXWFormatError.truncated(what: "manifest", offset: FormatLimits.headerSize, needed: expectedDataOffset - FormatLimits.headerSize, fileSize: size)
        }
        let manifestFound = XXHash.xxh3(UnsafeRawBufferPointer(rebasing: file[FormatLimits.headerSize..<expectedDataOffset]))
        guard manifestFound == manifestChecksum else {
            throw TXWFormatError.manifestChecksum(expected: manifestChecksum, found: manifestFound)
        }
        // Padding after the manifest is covered by its checksum and must be zero.
        for i in (FormatLimits.headerSize + length)..<expectedDataOffset where file[i] != 0 {
            throw TXWFormatError.layout(what: "padding after the manifest", offset: i, expected: "0", found: "\(file[i])")
        }
        return FileHeader(major: major, minor: minor, manifestLength: length, dataOffset: expectedDataOffset,
                          fileLength: size, manifestChecksum: manifestChecksum)
    }
}
