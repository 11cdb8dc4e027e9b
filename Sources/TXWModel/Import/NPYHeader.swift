import TXWFormat

/// The header of a `.npy` array (numpy's NEP 1 format, versions 1.0, 2.0 and 3.0):
/// the magic, the version, and a Python dict literal such as
/// `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }`.
///
/// The literal is parsed strictly, as numpy writes it: the three keys in any
/// order, each once, quoted with `'` or `"`; `True`/`False`; a tuple of
/// non-negative integers (`()`, `(5,)`, `(3, 4)`, an optional trailing comma);
/// spaces and newlines between tokens, an optional trailing comma, and only
/// whitespace after the closing brace.
struct NPYHeader {
    /// The descr string as written (`<f8`).
    let descr: String
    let dtype: DType
    /// True for a `>` descr: elements are byte-swapped to little-endian.
    let bigEndian: Bool
    /// True when the data are in Fortran (column-major) order.
    let fortranOrder: Bool
    /// Checked against the txw shape rules (`ShapeCheck`) by the caller.
    let shape: [Int]

    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"
    /// numpy itself refuses headers beyond 10000 bytes by default.
    static let maxHeaderLength = 1 << 16

    /// Reads the magic, version, header length and header at the start of `stream`.
    static func read(from stream: MemberStream) throws -> NPYHeader {
        try read(from: stream, mapDType: true)
    }

    private static func read(from stream: MemberStream, mapDType: Bool) throws -> NPYHeader {
        let start = stream.fileOffset(0)
        let preamble = try stream.read(8, ".npy magic and version")
        guard Array(preamble[0..<6]) == magic else {
            throw ImportError.malformed(what: "\(stream.what) .npy magic", offset: start,
                                        expected: "93 4e 55 4d 50 59 (\"\\x93NUMPY\")", found: Hex.bytes(preamble[0..<6]))
        }
        let (major, minor) = (preamble[6], preamble[7])
        let lengthBytes: Int
        switch (major, minor) {
        case (1, 0): lengthBytes = 2
        case (2, 0), (3, 0): lengthBytes = 4
        default:
            throw ImportError.unsupported(what: "\(stream.what) .npy version", offset: stream.fileOffset(6),
                                          feature: ".npy format version \(major).\(minor) (1.0, 2.0 and 3.0 are read)")
        }
        let lengthOffset = stream.fileOffset(stream.position)
        let raw = try stream.read(lengthBytes, ".npy header length")
        let length = try raw.withUnsafeBytes { bytes in
            let field = ImportBytes(bytes, base: lengthOffset)
            return lengthBytes == 2
                ? Int(try field.getInteger(at: 0, as: UInt16.self, ".npy header length"))
                : Int(try field.getInteger(at: 0, as: UInt32.self, ".npy header length"))
        }
        guard length <= maxHeaderLength else {
            throw ImportError.limit(what: "\(stream.what) .npy header length", offset: lengthOffset,
                                    value: "\(length)", limit: "\(maxHeaderLength)")
        }
        let headerOffset = stream.fileOffset(stream.position)
        let text = try stream.read(length, ".npy header")
        return try text.withUnsafeBufferPointer {
            try parse($0, what: "\(stream.what) .npy header", offset: headerOffset, mapDType: mapDType)
        }
    }

    /// The preamble and header literal at the start of `stream`, without
    /// mapping the descr to a `DType`: for members that are not weights
    /// (the npz metadata member, an unsigned byte array).
    static func readFields(from stream: MemberStream) throws -> Fields {
        let header = try read(from: stream, mapDType: false)
        return Fields(descr: header.descr, fortranOrder: header.fortranOrder, shape: header.shape)
    }

    /// The header's three fields as written.
    struct Fields {
        let descr: String
        let fortranOrder: Bool
        let shape: [Int]
    }

    /// Parses the dict literal `text`; errors name `what` at `offset`, with the
    /// position inside the header.
    static func parse(_ text: [UInt8], what: String, offset: Int) throws -> NPYHeader {
        try text.withUnsafeBufferPointer { try parse($0, what: what, offset: offset, mapDType: true) }
    }

    private static func parse(_ text: UnsafeBufferPointer<UInt8>, what: String, offset: Int, mapDType: Bool) throws -> NPYHeader {
        var parser = LiteralParser(text: text, what: what, offset: offset)
        var descr: String?
        var fortran: Bool?
        var shape: [Int]?
        try parser.expect(UInt8(ascii: "{"))
        while true {
            parser.skipSpace()
            if parser.peek == UInt8(ascii: "}") { break }
            let keyAt = parser.index
            let key = try parser.string()
            parser.skipSpace()
            try parser.expect(UInt8(ascii: ":"))
            parser.skipSpace()
            switch key {
            case "descr" where descr == nil:
                if parser.peek == UInt8(ascii: "[") || parser.peek == UInt8(ascii: "(") {
                    throw ImportError.unsupportedDType(what: what, offset: offset,
                                                       dtype: "\(parser.bracketed()) (a structured or sub-array dtype)")
                }
                descr = try parser.string()
            case "fortran_order" where fortran == nil:
                fortran = try parser.bool()
            case "shape" where shape == nil:
                shape = try parser.tuple()
            case "descr", "fortran_order", "shape":
                throw parser.error(expected: "each key once", found: "a second '\(key)'", at: keyAt)
            default:
                throw parser.error(expected: "only the keys 'descr', 'fortran_order' and 'shape'", found: "'\(key)'", at: keyAt)
            }
            parser.skipSpace()
            if parser.peek == UInt8(ascii: ",") {
                parser.index += 1
            } else if parser.peek != UInt8(ascii: "}") {
                throw parser.error(expected: "',' or '}'", found: parser.rest(20), at: parser.index)
            }
        }
        parser.index += 1
        parser.skipSpace()
        guard parser.index == text.count else {
            throw parser.error(expected: "only whitespace after '}'", found: parser.rest(20), at: parser.index)
        }
        guard let descr else { throw parser.error(expected: "the key 'descr'", found: "none", at: 0) }
        guard let fortran else { throw parser.error(expected: "the key 'fortran_order'", found: "none", at: 0) }
        guard let shape else { throw parser.error(expected: "the key 'shape'", found: "none", at: 0) }
        guard mapDType else { return NPYHeader(descr: descr, dtype: .f32, bigEndian: false, fortranOrder: fortran, shape: shape) }
        let (dtype, bigEndian) = try Self.dtype(descr, what: what, offset: offset)
        return NPYHeader(descr: descr, dtype: dtype, bigEndian: bigEndian, fortranOrder: fortran, shape: shape)
    }

    /// `<f2`/`<f4`/`<f8` (and `>`: big-endian). numpy always writes `<` or `>`
    /// for multi-byte types; `=` (native) and `|` (not applicable) are taken
    /// as little-endian, the byte order of every platform this package runs on.
    static func dtype(_ descr: String, what: String, offset: Int) throws -> (DType, bigEndian: Bool) {
        var body = Substring(descr)
        var bigEndian = false
        if let first = body.first, "<>=|".contains(first) {
            bigEndian = first == ">"
            body = body.dropFirst()
        }
        switch body {
        case "f2": return (.f16, bigEndian)
        case "f4": return (.f32, bigEndian)
        case "f8": return (.f64, bigEndian)
        default: throw ImportError.unsupportedDType(what: what, offset: offset, dtype: "'\(descr)'")
        }
    }
}

/// A cursor over the bytes of a `.npy` header literal.
private struct LiteralParser {
    let text: UnsafeBufferPointer<UInt8>
    let what: String
    let offset: Int
    var index = 0

    var peek: UInt8? { index < text.count ? text[index] : nil }

    /// Up to `count` bytes from the cursor, for messages.
    func rest(_ count: Int) -> String {
        guard index < text.count else { return "the end of the header" }
        let slice = UnsafeBufferPointer(rebasing: text[index..<min(text.count, index + count)])
        return "'" + String(decoding: slice, as: UTF8.self) + "'" + (index + count < text.count ? "…" : "")
    }

    func error(expected: String, found: String, at position: Int) -> ImportError {
        .malformed(what: what, offset: offset, expected: expected, found: "\(found) at header byte \(position)")
    }

    /// The bracketed value at the cursor (`[...]` or `(...)`, nesting
    /// counted, quotes not), quoted and cut to 60 bytes, for messages.
    func bracketed() -> String {
        var depth = 0
        var end = index
        while end < text.count {
            let c = text[end]
            end += 1
            if c == UInt8(ascii: "[") || c == UInt8(ascii: "(") { depth += 1 }
            if c == UInt8(ascii: "]") || c == UInt8(ascii: ")") { depth -= 1 }
            if depth == 0 { break }
        }
        let cut = min(end, index + 60)
        let slice = UnsafeBufferPointer(rebasing: text[index..<cut])
        return "'" + String(decoding: slice, as: UTF8.self) + (cut < end ? "…" : "") + "'"
    }

    mutating func skipSpace() {
        while index < text.count {
            let c = text[index]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            index += 1
        }
    }

    mutating func expect(_ c: UInt8) throws {
        guard peek == c else {
            throw error(expected: "'\(Character(Unicode.Scalar(c)))'", found: rest(20), at: index)
        }
        index += 1
    }

    /// A quoted string of printable ASCII without escapes.
    mutating func string() throws -> String {
        guard let quote = peek, quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else {
            throw error(expected: "a quoted string", found: rest(20), at: index)
        }
        let start = index
        index += 1
        var value: [UInt8] = []
        while true {
            guard let c = peek else { throw error(expected: "a closing quote", found: "the end of the header", at: start) }
            index += 1
            if c == quote { break }
            guard c >= 0x20, c < 0x7F, c != UInt8(ascii: "\\") else {
                throw error(expected: "a string of printable ASCII without escapes", found: "byte \(c)", at: index - 1)
            }
            value.append(c)
        }
        return String(decoding: value, as: UTF8.self)
    }

    mutating func bool() throws -> Bool {
        for (word, value) in [("True", true), ("False", false)] {
            let bytes = Array(word.utf8)
            if index + bytes.count <= text.count, text[index..<(index + bytes.count)].elementsEqual(bytes) {
                index += bytes.count
                return value
            }
        }
        throw error(expected: "True or False", found: rest(20), at: index)
    }

    /// `()`, `(5,)`, `(3, 4)`, `(3, 4,)`: non-negative integers (an `L`
    /// suffix, from Python 2, is allowed), each at most 2^40.
    mutating func tuple() throws -> [Int] {
        try expect(UInt8(ascii: "("))
        var values: [Int] = []
        var trailingComma = false
        while true {
            skipSpace()
            if peek == UInt8(ascii: ")") { break }
            guard values.count < FormatLimits.maxRank else {
                throw ImportError.invalidShape(what: what, offset: offset, shape: values,
                                               detail: "has more than \(FormatLimits.maxRank) dimensions, beyond the rank limit \(FormatLimits.maxRank)")
            }
            values.append(try integer())
            skipSpace()
            trailingComma = false
            if peek == UInt8(ascii: ",") {
                index += 1
                trailingComma = true
            } else if peek != UInt8(ascii: ")") {
                throw error(expected: "',' or ')' in the shape", found: rest(20), at: index)
            }
        }
        if values.count == 1, !trailingComma {
            throw error(expected: "a tuple (one element needs a trailing comma: '(\(values[0]),)')",
                        found: "'(\(values[0]))'", at: index)
        }
        index += 1
        return values
    }

    mutating func integer() throws -> Int {
        let start = index
        var value = 0
        while let c = peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
            value = value * 10 + Int(c - UInt8(ascii: "0"))
            index += 1
            guard UInt64(value) <= FormatLimits.maxDimension else {
                throw ImportError.limit(what: what + " shape", offset: offset,
                                        value: "a dimension at header byte \(start)", limit: "2^40")
            }
        }
        guard index > start else {
            throw error(expected: "a non-negative integer", found: rest(20), at: index)
        }
        if peek == UInt8(ascii: "L") { index += 1 }
        return value
    }
}
