/// The byte order of an integer field.
package enum Endianness: Sendable {
    case little, big
}

/// Why a `ByteReader` refused a read, before the caller's error type gives it
/// its words (`ByteReadFailure`).
package enum ByteFault: Equatable, Sendable {
    /// `needed` bytes at file offset `offset`, where the region (named
    /// `region`) has only `available` bytes left.
    case outOfBounds(what: String, offset: Int, needed: Int, available: Int, region: String)
    /// The bytes of a string at `offset` are not valid UTF-8.
    case invalidUTF8(what: String, offset: Int)
    /// Arithmetic on lengths or offsets from the file overflows `Int`;
    /// `expression` is the computation (`"a + b"`).
    case overflow(what: String, offset: Int, expression: String)
}

/// An error type a `ByteReader` throws: each module's reader speaks its own
/// module's error vocabulary (TXWFormat's `TXWFormatError`, the importers'
/// `ImportError`), so a read past the end is reported as that module reports
/// any other fault, with the field's name and its file offset.
package protocol ByteReadFailure: Error {
    init(_ fault: ByteFault)
}

/// A bounds-checked view of a region of a file's bytes, modelled on swift-nio's
/// `ByteBuffer`: random access (`getInteger(at:)`, `getSlice(at:length:)`) and
/// sequential reads from a reader index (`readInteger()`, `readSlice(length:)`,
/// `readString(length:)`), integers in either byte order (little-endian by
/// default, as both txw and the formats it imports are).
///
/// Every access checks its offset and length against the region — no
/// arithmetic on a value from the file can overflow or reach past the region —
/// and throws `Failure` naming the field (`what`) and its file offset: `base`
/// is the file offset of the region's first byte, so errors about a slice still
/// report offsets in the file.
///
/// The view does not own its bytes: it is valid only while the buffer it was
/// made from is (callers keep the file alive with `withExtendedLifetime`).
package struct ByteReader<Failure: ByteReadFailure> {
    /// The region's bytes.
    package let bytes: UnsafeRawBufferPointer
    /// File offset of `bytes[0]`.
    package let base: Int
    /// What the region is, for errors ("manifest", "header").
    package let region: String
    /// Index into `bytes` of the next sequential read.
    package private(set) var readerIndex = 0

    @inlinable
    package init(_ bytes: UnsafeRawBufferPointer, base: Int = 0, region: String = "region") {
        self.bytes = bytes
        self.base = base
        self.region = region
    }

    /// The region's length in bytes.
    @inlinable
    package var count: Int { bytes.count }

    /// Bytes left after the reader index.
    @inlinable
    package var readableBytes: Int { bytes.count - readerIndex }

    /// The file offset of the next sequential read.
    @inlinable
    package var offset: Int { fileOffset(readerIndex) }

    /// The file offset of region index `index` (saturating: for messages only).
    @inlinable
    package func fileOffset(_ index: Int) -> Int {
        let (sum, overflow) = base.addingReportingOverflow(index)
        return overflow ? Int.max : sum
    }

    // MARK: Random access

    /// The `length` bytes at region index `index`, as a region of their own.
    @inlinable
    package func getSlice(at index: Int, length: Int, _ what: @autoclosure () -> String) throws(Failure) -> ByteReader {
        // Written so that no comparison can overflow, whatever the two values are.
        guard index >= 0, length >= 0, index <= bytes.count, length <= bytes.count - index else {
            let available = index >= 0 && index <= bytes.count ? bytes.count - index : 0
            throw Failure(.outOfBounds(what: what(), offset: fileOffset(index), needed: length, available: available, region: region))
        }
        return ByteReader(UnsafeRawBufferPointer(rebasing: bytes[index..<(index + length)]), base: fileOffset(index), region: region)
    }

    /// The integer at region index `index`.
    @inlinable
    package func getInteger<T: FixedWidthInteger & BitwiseCopyable>(
        at index: Int, endianness: Endianness = .little, as: T.Type = T.self, _ what: @autoclosure () -> String
    ) throws(Failure) -> T {
        let raw = try getSlice(at: index, length: MemoryLayout<T>.size, what()).bytes.loadUnaligned(as: T.self)
        return endianness == .little ? T(littleEndian: raw) : T(bigEndian: raw)
    }

    /// True when the bytes at region index `index` are `pattern` (false when
    /// they would run past the region).
    @inlinable
    package func matches(_ pattern: [UInt8], at index: Int) -> Bool {
        guard index >= 0, index <= bytes.count, pattern.count <= bytes.count - index else { return false }
        return UnsafeRawBufferPointer(rebasing: bytes[index..<(index + pattern.count)]).elementsEqual(pattern)
    }

    // MARK: Sequential reads

    /// The next `length` bytes, as a region of their own.
    @inlinable
    package mutating func readSlice(length: Int, _ what: @autoclosure () -> String) throws(Failure) -> ByteReader {
        let slice = try getSlice(at: readerIndex, length: length, what())
        readerIndex += length
        return slice
    }

    /// The next integer.
    @inlinable
    package mutating func readInteger<T: FixedWidthInteger & BitwiseCopyable>(
        endianness: Endianness = .little, as: T.Type = T.self, _ what: @autoclosure () -> String
    ) throws(Failure) -> T {
        let value = try getInteger(at: readerIndex, endianness: endianness, as: T.self, what())
        readerIndex += MemoryLayout<T>.size
        return value
    }

    /// The next `length` bytes as a string, which must be valid UTF-8.
    @inlinable
    package mutating func readString(length: Int, _ what: @autoclosure () -> String) throws(Failure) -> String {
        let start = offset
        let slice = try readSlice(length: length, what())
        guard let string = String(validating: slice.bytes, as: UTF8.self) else {
            throw Failure(.invalidUTF8(what: what(), offset: start))
        }
        return string
    }
}

/// Overflow-checked arithmetic on lengths and offsets read from a file: an
/// overflow throws `Failure`'s `ByteFault.overflow`, naming the value, and never traps.
package enum Checked<Failure: ByteReadFailure> {
    @inlinable
    package static func add(_ a: Int, _ b: Int, _ what: @autoclosure () -> String, offset: Int) throws(Failure) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw Failure(.overflow(what: what(), offset: offset, expression: "\(a) + \(b)")) }
        return sum
    }

    @inlinable
    package static func multiply(_ a: Int, _ b: Int, _ what: @autoclosure () -> String, offset: Int) throws(Failure) -> Int {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw Failure(.overflow(what: what(), offset: offset, expression: "\(a) × \(b)")) }
        return product
    }
}

/// Appends integers in either byte order (little-endian by default) and raw
/// bytes to a byte array: the writing half of `ByteReader`.
package struct ByteWriter {
    package private(set) var bytes: [UInt8] = []

    package init() {}

    package mutating func writeInteger<T: FixedWidthInteger>(_ value: T, endianness: Endianness = .little) {
        let ordered = endianness == .little ? value.littleEndian : value.bigEndian
        withUnsafeBytes(of: ordered) { bytes.append(contentsOf: $0) }
    }

    package mutating func writeBytes<S: Sequence>(_ source: S) where S.Element == UInt8 {
        bytes.append(contentsOf: source)
    }
}

/// The container's reader speaks `TXWFormatError`: a read past the region is
/// a `malformedManifest` (the only region whose length is not fixed is the
/// manifest; the 64-byte header is bounded before it is read).
extension TXWFormatError: ByteReadFailure {
    package init(_ fault: ByteFault) {
        switch fault {
        case let .outOfBounds(what, offset, needed, available, region):
            self = .malformedManifest(what: what, offset: offset, detail: "needs \(needed) bytes but the \(region) has \(available) left")
        case let .invalidUTF8(what, offset):
            self = .invalidUTF8(what: what, offset: offset)
        case let .overflow(what, offset, expression):
            self = .limit(what: what, offset: offset, value: expression, limit: "\(Int.max)")
        }
    }
}
