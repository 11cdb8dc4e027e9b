import TXWFormat

/// The structure of a zip archive (PKWARE APPNOTE 6.3): the end of central
/// directory record (and its zip64 form), the central directory, and each
/// member's local header. Reads only what numpy's `savez` family writes —
/// one disk, stored or deflated members, no encryption — and checks every
/// size and offset against the file before use.
///
/// Hand-written on purpose, not a zip library: the importers' conformance
/// set (Tests/Fixtures/import, made by tools/reference/make_import_fixtures.py
/// and checked by ImportTests) requires every error to give its category and the file
/// offset of the fault, to refuse a name given twice in the directory, members
/// that overlap each other or the directory, and sizes beyond what deflate can
/// produce — before any member is inflated. General-purpose readers such as
/// ZIPFoundation report none of these with offsets, and accept duplicates.
enum ZipArchive {
    static let localSignature: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
    static let centralSignature: [UInt8] = [0x50, 0x4B, 0x01, 0x02]
    static let endSignature: [UInt8] = [0x50, 0x4B, 0x05, 0x06]
    static let zip64EndSignature: [UInt8] = [0x50, 0x4B, 0x06, 0x06]
    static let zip64LocatorSignature: [UInt8] = [0x50, 0x4B, 0x06, 0x07]
    static let endRecordSize = 22
    static let centralRecordSize = 46
    static let localHeaderSize = 30
    /// Deflate codes at most 258 bytes in 2 bits: no stream inflates to more
    /// than 1032 times its compressed length.
    static let maxDeflateRatio = 1032

    /// The central directory's entries, in directory order, with distinct
    /// names, and the directory's file offset.
    static func entries(of file: ImportBytes) throws -> (entries: [ZipEntry], directoryOffset: Int) {
        let (cdOffset, cdSize, count, cdEnd) = try directory(of: file)
        guard cdOffset <= cdEnd, cdSize == cdEnd - cdOffset else {
            throw ImportError.malformed(
                what: "zip central directory", offset: cdOffset,
                expected: "to end where the end of central directory record begins (offset \(cdEnd))",
                found: "offset \(cdOffset) + size \(cdSize)")
        }
        // Each record takes at least 46 bytes, which bounds `count` by the file.
        guard count <= cdSize / centralRecordSize else {
            throw ImportError.malformed(
                what: "zip central directory", offset: cdOffset,
                expected: "at most \(cdSize / centralRecordSize) records in \(cdSize) bytes", found: "\(count) records")
        }
        let directory = try file.getSlice(at: cdOffset, length: cdSize, "zip central directory")
        var entries: [ZipEntry] = []
        entries.reserveCapacity(count)
        var names: Set<String> = []
        var position = 0
        for index in 0..<count {
            let (entry, length) = try record(in: directory, at: position, index: index, fileSize: file.count)
            guard names.insert(entry.name).inserted else {
                throw ImportError.duplicateName(what: "zip central directory record \(index)", name: entry.name, offset: entry.recordOffset)
            }
            entries.append(entry)
            position += length
        }
        guard position == cdSize else {
            throw ImportError.malformed(
                what: "zip central directory", offset: directory.fileOffset(position),
                expected: "\(count) records filling \(cdSize) bytes", found: "\(cdSize - position) bytes after the last record")
        }
        return (entries, cdOffset)
    }

    /// The compressed bytes of each entry (same order), after checking its
    /// local header, and that no two members (header and data) overlap each
    /// other or the central directory.
    static func memberData(_ entries: [ZipEntry], in file: ImportBytes, directoryOffset: Int) throws -> [ImportBytes] {
        var data: [ImportBytes] = []
        data.reserveCapacity(entries.count)
        for entry in entries {
            data.append(try localData(of: entry, in: file))
        }
        let order = entries.indices.sorted { entries[$0].localHeaderOffset < entries[$1].localHeaderOffset }
        var previousEnd = 0
        var previousName: String?
        for i in order {
            let start = entries[i].localHeaderOffset
            guard start >= previousEnd else {
                throw ImportError.malformed(
                    what: entries[i].what + " local header", offset: start,
                    expected: "members that do not overlap",
                    found: "it begins inside member '\(previousName ?? "")', which ends at offset \(previousEnd)")
            }
            previousEnd = data[i].base + data[i].count
            previousName = entries[i].name
        }
        guard previousEnd <= directoryOffset else {
            throw ImportError.malformed(
                what: "npz member '\(previousName ?? "")' data", offset: previousEnd,
                expected: "to end before the central directory at offset \(directoryOffset)", found: "it ends at offset \(previousEnd)")
        }
        return data
    }

    // MARK: - End of central directory

    /// (offset, size, record count, where the directory must end).
    private static func directory(of file: ImportBytes) throws -> (offset: Int, size: Int, count: Int, end: Int) {
        let n = file.count
        guard n >= endRecordSize else {
            throw ImportError.truncated(what: "zip end of central directory record", offset: 0, needed: endRecordSize, available: n)
        }
        // The record is 22 bytes plus a comment of up to 65535: search back
        // for a signature whose comment ends exactly at the end of the file.
        var found: Int?
        let lowest = max(0, n - endRecordSize - 65535)
        let raw = file.bytes
        var p = n - endRecordSize
        while p >= lowest {
            // A scan of up to 64 KiB, so it reads the bytes directly:
            // p + 21 < n, every index below is inside the file.
            if raw[p] == 0x50, raw[p + 1] == 0x4B, raw[p + 2] == 0x05, raw[p + 3] == 0x06,
               p + endRecordSize + (Int(raw[p + 20]) | Int(raw[p + 21]) << 8) == n {
                found = p
                break
            }
            p -= 1
        }
        guard let eocd = found else {
            throw ImportError.malformed(
                what: "zip end of central directory record", offset: lowest,
                expected: "the signature 50 4b 05 06 in the last \(n - lowest) bytes",
                found: "none (the file is truncated or not a zip archive)")
        }
        let what = "zip end of central directory record"
        let disk = try file.getInteger(at: eocd + 4, as: UInt16.self, what)
        let directoryDisk = try file.getInteger(at: eocd + 6, as: UInt16.self, what)
        let entriesOnDisk = try file.getInteger(at: eocd + 8, as: UInt16.self, what)
        let entries = try file.getInteger(at: eocd + 10, as: UInt16.self, what)
        let size = try file.getInteger(at: eocd + 12, as: UInt32.self, what)
        let offset = try file.getInteger(at: eocd + 16, as: UInt32.self, what)

        if eocd >= 20, file.matches(zip64LocatorSignature, at: eocd - 20) {
            return try zip64Directory(of: file, locator: eocd - 20)
        }
        guard disk == 0, directoryDisk == 0, entriesOnDisk == entries else {
            throw ImportError.unsupported(
                what: what, offset: eocd,
                feature: "a multi-disk archive (disk \(disk), directory disk \(directoryDisk), \(entriesOnDisk) of \(entries) records on this disk)")
        }
        return (Int(offset), Int(size), Int(entries), eocd)
    }

    private static func zip64Directory(of file: ImportBytes, locator: Int) throws -> (offset: Int, size: Int, count: Int, end: Int) {
        let what = "zip64 end of central directory locator"
        let locatorDisk = try file.getInteger(at: locator + 4, as: UInt32.self, what)
        let recordOffset64 = try file.getInteger(at: locator + 8, as: UInt64.self, what)
        let disks = try file.getInteger(at: locator + 16, as: UInt32.self, what)
        guard locatorDisk == 0, disks <= 1 else {
            throw ImportError.unsupported(what: what, offset: locator, feature: "a multi-disk archive (\(disks) disks)")
        }
        guard recordOffset64 <= UInt64(locator) else {
            throw ImportError.malformed(what: what, offset: locator + 8,
                                        expected: "a zip64 record offset ≤ \(locator)", found: "\(recordOffset64)")
        }
        let record = Int(recordOffset64)
        let recordWhat = "zip64 end of central directory record"
        guard locator - record >= 56 else {
            throw ImportError.malformed(what: what, offset: locator + 8,
                                        expected: "a zip64 record (56 bytes) before the locator at \(locator)", found: "offset \(record)")
        }
        guard file.matches(zip64EndSignature, at: record) else {
            throw ImportError.malformed(what: recordWhat, offset: record, expected: "the signature 50 4b 06 06",
                                        found: signatureFound(in: file, at: record, atEnd: "the end of the file"))
        }
        let recordSize = try file.getInteger(at: record + 4, as: UInt64.self, recordWhat)
        guard recordSize >= 44, recordSize == UInt64(locator - record - 12) else {
            throw ImportError.malformed(what: recordWhat + " size", offset: record + 4,
                                        expected: "\(locator - record - 12) (the record ends at the locator)", found: "\(recordSize)")
        }
        let disk = try file.getInteger(at: record + 16, as: UInt32.self, recordWhat)
        let directoryDisk = try file.getInteger(at: record + 20, as: UInt32.self, recordWhat)
        let entriesOnDisk = try file.getInteger(at: record + 24, as: UInt64.self, recordWhat)
        let entries = try file.getInteger(at: record + 32, as: UInt64.self, recordWhat)
        let size = try file.getInteger(at: record + 40, as: UInt64.self, recordWhat)
        let offset = try file.getInteger(at: record + 48, as: UInt64.self, recordWhat)
        guard disk == 0, directoryDisk == 0, entriesOnDisk == entries else {
            throw ImportError.unsupported(
                what: recordWhat, offset: record,
                feature: "a multi-disk archive (disk \(disk), directory disk \(directoryDisk), \(entriesOnDisk) of \(entries) records on this disk)")
        }
        // Values beyond the file cannot be right; bounding them here keeps the conversions exact.
        let limit = UInt64(file.count)
        guard size <= limit, offset <= limit, entries <= limit else {
            throw ImportError.malformed(
                what: recordWhat, offset: record,
                expected: "a central directory inside the \(file.count)-byte file",
                found: "offset \(offset), size \(size), \(entries) records")
        }
        return (Int(offset), Int(size), Int(entries), record)
    }

    // MARK: - Records

    /// The fields of a central directory record's fixed 46-byte part that are used.
    private struct CentralFields {
        let flags, method: UInt16
        let crc, compressed32, uncompressed32: UInt32
        let nameLength, extraLength, commentLength: Int
        let diskStart32: UInt16
        let localOffset32: UInt32

        init(_ fixed: ImportBytes, _ what: String) throws {
            flags = try fixed.getInteger(at: 8, as: UInt16.self, what)
            method = try fixed.getInteger(at: 10, as: UInt16.self, what)
            crc = try fixed.getInteger(at: 16, as: UInt32.self, what)
            compressed32 = try fixed.getInteger(at: 20, as: UInt32.self, what)
            uncompressed32 = try fixed.getInteger(at: 24, as: UInt32.self, what)
            nameLength = Int(try fixed.getInteger(at: 28, as: UInt16.self, what))
            extraLength = Int(try fixed.getInteger(at: 30, as: UInt16.self, what))
            commentLength = Int(try fixed.getInteger(at: 32, as: UInt16.self, what))
            diskStart32 = try fixed.getInteger(at: 34, as: UInt16.self, what)
            localOffset32 = try fixed.getInteger(at: 42, as: UInt32.self, what)
        }
    }

    /// A member's sizes, local header offset and disk, after the zip64 extra field.
    private struct MemberSizes {
        var uncompressed, compressed, localOffset: UInt64
        var diskStart: UInt32
    }

    /// The central directory record at `position` of `directory`, and its length.
    private static func record(in directory: ImportBytes, at position: Int, index: Int, fileSize: Int) throws -> (ZipEntry, Int) {
        let at = directory.fileOffset(position)
        let what = "zip central directory record \(index)"
        guard directory.matches(centralSignature, at: position) else {
            throw ImportError.malformed(what: what, offset: at, expected: "the signature 50 4b 01 02",
                                        found: signatureFound(in: directory, at: position, atEnd: "the end of the directory"))
        }
        let fields = try CentralFields(try directory.getSlice(at: position, length: centralRecordSize, what), what)
        let length = centralRecordSize + fields.nameLength + fields.extraLength + fields.commentLength
        let nameBytes = try directory.getSlice(at: position + centralRecordSize, length: fields.nameLength, what + " name")
        guard let name = String(validating: nameBytes.bytes, as: UTF8.self) else {
            throw ImportError.invalidUTF8(what: what + " name", offset: nameBytes.base)
        }
        let member = "npz member '\(name)'"
        let extra = try directory.getSlice(
            at: position + centralRecordSize + fields.nameLength, length: fields.extraLength, member + " extra field")
        _ = try directory.getSlice(at: position, length: length, member + " central directory record")

        if fields.flags & 0x0001 != 0 || fields.flags & 0x0040 != 0 || fields.method == 99 {
            throw ImportError.unsupported(what: member, offset: at, feature: "an encrypted member")
        }
        guard fields.method == 0 || fields.method == 8 else {
            throw ImportError.unsupported(what: member, offset: at + 10,
                                          feature: "compression method \(fields.method) (only 0, stored, and 8, deflate, are read)")
        }
        let sizes = try memberSizes(fields, extra: extra, member: member)
        let uncompressed = try checkSizes(sizes, method: fields.method, member: member, recordOffset: at, fileSize: fileSize)
        let entry = ZipEntry(
            name: name, nameOffset: nameBytes.base, nameLength: fields.nameLength, method: fields.method, crc: fields.crc,
            compressedSize: Int(sizes.compressed), uncompressedSize: uncompressed, localHeaderOffset: Int(sizes.localOffset),
            recordOffset: at)
        return (entry, length)
    }

    /// The record's sizes, local header offset and disk: those saturated at
    /// 0xFFFFFFFF (0xFFFF for the disk) live in the zip64 extra field, in this order.
    private static func memberSizes(_ fields: CentralFields, extra: ImportBytes, member: String) throws -> MemberSizes {
        var sizes = MemberSizes(
            uncompressed: UInt64(fields.uncompressed32), compressed: UInt64(fields.compressed32),
            localOffset: UInt64(fields.localOffset32), diskStart: UInt32(fields.diskStart32))
        let saturated = fields.uncompressed32 == 0xFFFF_FFFF || fields.compressed32 == 0xFFFF_FFFF
            || fields.localOffset32 == 0xFFFF_FFFF || fields.diskStart32 == 0xFFFF
        guard saturated else { return sizes }
        let what64 = member + " zip64 extra field"
        guard let field = try zip64Field(in: extra, member: member) else {
            throw ImportError.malformed(what: what64, offset: extra.base,
                                        expected: "a zip64 extra field (its sizes are 0xffffffff)", found: "none")
        }
        var reader = field
        if fields.uncompressed32 == 0xFFFF_FFFF { sizes.uncompressed = try reader.readInteger(what64) }
        if fields.compressed32 == 0xFFFF_FFFF { sizes.compressed = try reader.readInteger(what64) }
        if fields.localOffset32 == 0xFFFF_FFFF { sizes.localOffset = try reader.readInteger(what64) }
        if fields.diskStart32 == 0xFFFF { sizes.diskStart = try reader.readInteger(what64) }
        return sizes
    }

    /// Checks a member's disk and sizes against the file (of `fileSize`
    /// bytes) and its method; returns the uncompressed size.
    private static func checkSizes(_ sizes: MemberSizes, method: UInt16, member: String, recordOffset at: Int, fileSize: Int) throws -> Int {
        guard sizes.diskStart == 0 else {
            throw ImportError.unsupported(what: member, offset: at + 34, feature: "a member on disk \(sizes.diskStart)")
        }
        let (compressed, uncompressed) = (sizes.compressed, sizes.uncompressed)
        let limit = UInt64(fileSize)
        guard compressed <= limit else {
            throw ImportError.truncated(what: member + " compressed data", offset: at + 20,
                                        needed: Int(clamping: compressed), available: fileSize)
        }
        guard sizes.localOffset <= limit else {
            throw ImportError.malformed(what: member + " local header offset", offset: at + 42,
                                        expected: "an offset inside the \(fileSize)-byte file", found: "\(sizes.localOffset)")
        }
        if method == 0, uncompressed != compressed {
            throw ImportError.sizeMismatch(what: member + " (stored) uncompressed size", offset: at + 24,
                                           expected: Int(compressed), found: Int(clamping: uncompressed))
        }
        let (maxInflated, overflow) = compressed.multipliedReportingOverflow(by: UInt64(maxDeflateRatio))
        if method == 8, !overflow, uncompressed > maxInflated {
            throw ImportError.limit(what: member + " uncompressed size", offset: at + 24, value: "\(uncompressed)",
                                    limit: "\(maxInflated) (1032 × its \(compressed) compressed bytes, the most deflate can produce)")
        }
        guard let uncompressedInt = Int(exactly: uncompressed) else {
            throw ImportError.limit(what: member + " uncompressed size", offset: at + 24, value: "\(uncompressed)", limit: "\(Int.max)")
        }
        return uncompressedInt
    }

    /// The data of the zip64 extra field (header ID 1) among `extra`'s fields, if any.
    private static func zip64Field(in extra: ImportBytes, member: String) throws -> ImportBytes? {
        var p = 0
        while p < extra.count {
            let id = try extra.getInteger(at: p, as: UInt16.self, member + " extra field header")
            let size = Int(try extra.getInteger(at: p + 2, as: UInt16.self, member + " extra field header"))
            let body = try extra.getSlice(at: p + 4, length: size, member + " extra field \(id)")
            if id == 1 { return body }
            p += 4 + size
        }
        return nil
    }

    /// The compressed bytes of `entry`, after its local header (whose
    /// signature, flags and name are checked; its sizes are not used).
    private static func localData(of entry: ZipEntry, in file: ImportBytes) throws -> ImportBytes {
        let at = entry.localHeaderOffset
        let what = entry.what + " local header"
        guard file.matches(localSignature, at: at) else {
            throw ImportError.malformed(what: what, offset: at, expected: "the signature 50 4b 03 04",
                                        found: signatureFound(in: file, at: at, atEnd: "the end of the file"))
        }
        let header = try file.getSlice(at: at, length: localHeaderSize, what)
        let flags = try header.getInteger(at: 6, as: UInt16.self, what)
        if flags & 0x0001 != 0 || flags & 0x0040 != 0 {
            throw ImportError.unsupported(what: entry.what, offset: at + 6, feature: "an encrypted member")
        }
        let nameLength = Int(try header.getInteger(at: 26, as: UInt16.self, what))
        let extraLength = Int(try header.getInteger(at: 28, as: UInt16.self, what))
        let localName = try file.getSlice(at: at + localHeaderSize, length: nameLength, what + " name")
        let centralName = try file.getSlice(at: entry.nameOffset, length: entry.nameLength, entry.what + " name")
        guard localName.count == centralName.count, localName.bytes.elementsEqual(centralName.bytes) else {
            throw ImportError.malformed(what: what + " name", offset: localName.base,
                                        expected: "'\(entry.name)' (the central directory's name)",
                                        found: "'\(String(decoding: localName.bytes, as: UTF8.self))'")
        }
        let dataStart = try Checked<ImportError>.add(at + localHeaderSize + nameLength, extraLength, what, offset: at)
        return try file.getSlice(at: dataStart, length: entry.compressedSize, entry.what + " compressed data")
    }

    /// The 4 bytes where a signature should be, in hex, or `atEnd` when
    /// fewer than 4 bytes are left.
    private static func signatureFound(in region: ImportBytes, at index: Int, atEnd: String) -> String {
        (try? region.getSlice(at: index, length: 4, "")).map { Hex.bytes($0.bytes) } ?? atEnd
    }
}
