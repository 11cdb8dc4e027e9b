/// Reads little-endian fields from a byte region, bounds-checking every read.
///
/// `offset` is the absolute file offset of the next byte, for error messages;
/// every advance is overflow-checked. Reading past the region throws
/// `truncated` (or `malformedManifest` inside the manifest, whose length is
/// known) naming the field.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    /// File offset of `bytes[0]`.
    let base: Int
    /// Index into `bytes` of the next read.
    private(set) var position = 0
    /// What the region is, for errors ("manifest", "header").
    let region: String

    init(_ bytes: UnsafeRawBufferPointer, base: Int, region: String) {
        self.bytes = bytes
        self.base = base
        self.region = region
    }

    var offset: Int { base + position }
    var remaining: Int { bytes.count - position }

    private mutating func take(_ count: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else {
            throw TXWFormatError.malformedManifest(
                what: what, offset: offset,
                detail: "needs \(count) bytes but the \(region) has \(remaining) left")
        }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
        position += count
        return slice
    }

    mutating func u8(_ what: String) throws -> UInt8 {
        try take(1, what)[0]
    }

    mutating func u16(_ what: String) throws -> UInt16 {
        let b = try take(2, what)
        return UInt16(b[0]) | UInt16(b[1]) << 8
    }

    mutating func u32(_ what: String) throws -> UInt32 {
        let b = try take(4, what)
        var v: UInt32 = 0
        for i in (0..<4).reversed() { v = v << 8 | UInt32(b[i]) }
        return v
    }

    mutating func u64(_ what: String) throws -> UInt64 {
        let b = try take(8, what)
        var v: UInt64 = 0
        for i in (0..<8).reversed() { v = v << 8 | UInt64(b[i]) }
        return v
    }

    mutating func bytes(_ count: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        try take(count, what)
    }

    /// A UTF-8 string of `length` bytes, validated.
    mutating func string(length: Int, _ what: String) throws -> String {
        let start = offset
        let raw = try take(length, what)
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw TXWFormatError.invalidUTF8(what: what, offset: start)
        }
        return s
    }
}
