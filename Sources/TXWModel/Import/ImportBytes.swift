/// A bounds-checked, little-endian view of a region of an imported file.
///
/// Every accessor checks `offset` and `count` against the region with
/// overflow-checked arithmetic and throws `ImportError.truncated` naming the
/// field; `base` is the file offset of the region's first byte, so errors
/// report file offsets.
struct ImportBytes {
    let bytes: UnsafeRawBufferPointer
    /// File offset of `bytes[0]`.
    let base: Int

    init(_ bytes: UnsafeRawBufferPointer, base: Int = 0) {
        self.bytes = bytes
        self.base = base
    }

    var count: Int { bytes.count }

    /// The file offset of region offset `offset` (saturating, for messages only).
    func fileOffset(_ offset: Int) -> Int {
        let (sum, overflow) = base.addingReportingOverflow(offset)
        return overflow ? Int.max : sum
    }

    /// The `count` bytes at `offset` as a region of their own.
    func slice(_ offset: Int, _ count: Int, _ what: @autoclosure () -> String) throws -> ImportBytes {
        guard offset >= 0, count >= 0, offset <= bytes.count, count <= bytes.count - offset else {
            let available = offset >= 0 && offset <= bytes.count ? bytes.count - offset : 0
            throw ImportError.truncated(what: what(), offset: fileOffset(offset), needed: count, available: available)
        }
        return ImportBytes(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]), base: fileOffset(offset))
    }

    func u8(_ offset: Int, _ what: @autoclosure () -> String) throws -> UInt8 {
        try slice(offset, 1, what()).bytes[0]
    }

    func u16(_ offset: Int, _ what: @autoclosure () -> String) throws -> UInt16 {
        UInt16(truncatingIfNeeded: try unsigned(offset, 2, what()))
    }

    func u32(_ offset: Int, _ what: @autoclosure () -> String) throws -> UInt32 {
        UInt32(truncatingIfNeeded: try unsigned(offset, 4, what()))
    }

    func u64(_ offset: Int, _ what: @autoclosure () -> String) throws -> UInt64 {
        try unsigned(offset, 8, what())
    }

    /// True when the bytes at `offset` are `pattern` (false when they run past the region).
    func matches(_ offset: Int, _ pattern: [UInt8]) -> Bool {
        guard offset >= 0, offset <= bytes.count, pattern.count <= bytes.count - offset else { return false }
        var i = 0
        while i < pattern.count {
            if bytes[offset + i] != pattern[i] { return false }
            i += 1
        }
        return true
    }

    /// The region's bytes as an array (the caller has bounded the region).
    var array: [UInt8] { Array(bytes) }

    private func unsigned(_ offset: Int, _ width: Int, _ what: @autoclosure () -> String) throws -> UInt64 {
        let field = try slice(offset, width, what()).bytes
        var value: UInt64 = 0
        var i = width
        while i > 0 {
            i -= 1
            value = value << 8 | UInt64(field[i])
        }
        return value
    }
}
