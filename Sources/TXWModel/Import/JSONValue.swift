import TXWFormat

/// A JSON value read from an imported file (the safetensors header), with the
/// file offset of its first byte so that errors about it can say where it is.
///
/// Objects keep their members in file order, duplicates included: the reader
/// of the structure decides what a repeated key means (see `uniqueMembers`).
/// A number that denotes an integer within `Int` is kept as its exact value
/// (`1e2` and `4.0` are integers; `2.5`, `1e300` and `18446744073709551616`
/// are not), any other as its source text.
struct JSONValue {
    enum Kind {
        case null
        case bool(Bool)
        case number(JSONNumber)
        case string(String)
        case array([JSONValue])
        case object([JSONMember])
    }

    let kind: Kind
    /// File offset of the value's first byte.
    let offset: Int

    /// The value's kind in words, for messages: `an object`, `a boolean`, `the number 2.5`, ….
    var kindDescription: String {
        switch kind {
        case .null: "null"
        case .bool: "a boolean"
        case let .number(n): "the number \(n.text)"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The value for messages: numbers (integers by value), short strings,
    /// short arrays element by element, anything else by its kind.
    var shortDescription: String {
        switch kind {
        case let .number(n): return n.text
        case let .string(s): return s.count <= 40 ? "\"\(s)\"" : "a string of \(s.count) characters"
        case let .array(items) where items.count <= 8:
            return "[" + items.map(\.shortDescription).joined(separator: ", ") + "]"
        case let .array(items): return "an array of \(items.count) values"
        default: return kindDescription
        }
    }

    /// The value as an integer: a JSON number denoting an integer within `Int`.
    var integer: Int? {
        if case let .number(n) = kind { return n.integer }
        return nil
    }

    /// An object's members as a dictionary; a key that appears twice throws
    /// `ImportError.duplicateName` naming `what` and the second occurrence's offset.
    static func uniqueMembers(_ members: [JSONMember], _ what: @autoclosure () -> String) throws -> [String: JSONMember] {
        var byKey: [String: JSONMember] = [:]
        byKey.reserveCapacity(members.count)
        for member in members {
            guard byKey.updateValue(member, forKey: member.key) == nil else {
                throw ImportError.duplicateName(what: what(), name: member.key, offset: member.keyOffset)
            }
        }
        return byKey
    }
}

/// One `"key": value` of a JSON object.
struct JSONMember {
    let key: String
    /// File offset of the key's opening quote.
    let keyOffset: Int
    let value: JSONValue
}

/// A JSON number: an integer within `Int` by its value, any other by its text
/// (for messages; beyond 40 characters, as a hostile number may have megabytes
/// of digits, its first 32 and its length).
enum JSONNumber {
    case integer(Int)
    case other(String)

    var integer: Int? {
        if case let .integer(value) = self { return value }
        return nil
    }

    var text: String {
        switch self {
        case let .integer(value): String(value)
        case let .other(text): text
        }
    }
}

/// A strict RFC 8259 JSON parser over a region of an imported file. Every
/// error is an `ImportError` naming `what` and the file offset of the fault;
/// nesting is limited to `maxDepth`, so hostile input cannot exhaust the stack.
///
/// Hand-written on purpose, not Foundation's `JSONDecoder`/`JSONSerialization`:
/// the importers' conformance set (Tests/Fixtures/import, made by
/// tools/reference/make_import_fixtures.py and checked by ImportTests) requires the file offset of every fault and of
/// every value the safetensors reader refuses, objects that keep repeated keys
/// so that a tensor or field given twice is an error rather than a silent
/// choice, and integers kept exactly (`4.0` is 4, `2^63` is not an `Int`).
/// Foundation gives none of the offsets and keeps one of two duplicate keys.
struct JSONParser {
    static let maxDepth = 64

    private let input: ImportBytes
    private let what: String
    private var position = 0

    /// Parses `input` as one JSON value followed only by whitespace. `what` names the text in errors.
    static func parse(_ input: ImportBytes, what: String) throws -> JSONValue {
        var parser = JSONParser(input: input, what: what)
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == input.count else {
            throw parser.unexpected("only whitespace after the JSON value")
        }
        return value
    }

    private init(input: ImportBytes, what: String) {
        self.input = input
        self.what = what
    }

    private var atEnd: Bool { position >= input.count }
    private var current: UInt8? { atEnd ? nil : input.bytes[position] }
    private var fileOffset: Int { input.fileOffset(position) }

    /// `malformed`: expected `expected` at the current position, found what is there.
    private func unexpected(_ expected: String) -> ImportError {
        ImportError.malformed(what: what, offset: fileOffset, expected: expected, found: Self.describe(current))
    }

    /// A byte for messages: `'x'` when printable ASCII, else its value in hex.
    private static func describe(_ byte: UInt8?) -> String {
        guard let byte else { return "the end of the text" }
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte " + Hex.literal(byte)
    }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { position += 1 }
    }

    private mutating func value(depth: Int) throws -> JSONValue {
        skipWhitespace()
        let start = fileOffset
        switch current {
        case UInt8(ascii: "{"): return JSONValue(kind: .object(try object(depth: depth + 1)), offset: start)
        case UInt8(ascii: "["): return JSONValue(kind: .array(try array(depth: depth + 1)), offset: start)
        case UInt8(ascii: "\""): return JSONValue(kind: .string(try string()), offset: start)
        case UInt8(ascii: "t"): try literal("true"); return JSONValue(kind: .bool(true), offset: start)
        case UInt8(ascii: "f"): try literal("false"); return JSONValue(kind: .bool(false), offset: start)
        case UInt8(ascii: "n"): try literal("null"); return JSONValue(kind: .null, offset: start)
        case let byte? where byte == UInt8(ascii: "-") || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")):
            return JSONValue(kind: .number(try number()), offset: start)
        default: throw unexpected("a JSON value")
        }
    }

    private mutating func enter(_ depth: Int) throws {
        guard depth <= Self.maxDepth else {
            throw ImportError.limit(what: what + " nesting depth", offset: fileOffset, value: "\(depth)", limit: "\(Self.maxDepth)")
        }
        position += 1
    }

    private mutating func object(depth: Int) throws -> [JSONMember] {
        try enter(depth)
        var members: [JSONMember] = []
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            position += 1
            return members
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw unexpected("a string key") }
            let keyOffset = fileOffset
            let key = try string()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw unexpected("':' after the key") }
            position += 1
            members.append(JSONMember(key: key, keyOffset: keyOffset, value: try value(depth: depth)))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return members
            default: throw unexpected("',' or '}' in an object")
            }
        }
    }

    private mutating func array(depth: Int) throws -> [JSONValue] {
        try enter(depth)
        var items: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            position += 1
            return items
        }
        while true {
            items.append(try value(depth: depth))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return items
            default: throw unexpected("',' or ']' in an array")
            }
        }
    }

    private mutating func literal(_ word: String) throws {
        let pattern = Array(word.utf8)
        guard input.matches(pattern, at: position) else { throw unexpected("'\(word)'") }
        position += pattern.count
    }

    /// A string, its escapes decoded. The region is valid UTF-8 (the caller
    /// checks), so the bytes between escapes are whole characters.
    private mutating func string() throws -> String {
        position += 1  // the opening quote
        var bytes: [UInt8] = []
        while true {
            guard let byte = current else { throw unexpected("'\"' closing the string") }
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return String(decoding: bytes, as: UTF8.self)
            case UInt8(ascii: "\\"):
                position += 1
                try escape(into: &bytes)
            case 0x00..<0x20:
                throw unexpected("a control character to be escaped in a string")
            default:
                bytes.append(byte)
                position += 1
            }
        }
    }

    /// The escape after a backslash, appended to `bytes` as UTF-8.
    private mutating func escape(into bytes: inout [UInt8]) throws {
        let decoded: UInt8
        switch current {
        case UInt8(ascii: "\""): decoded = 0x22
        case UInt8(ascii: "\\"): decoded = 0x5C
        case UInt8(ascii: "/"): decoded = 0x2F
        case UInt8(ascii: "b"): decoded = 0x08
        case UInt8(ascii: "f"): decoded = 0x0C
        case UInt8(ascii: "n"): decoded = 0x0A
        case UInt8(ascii: "r"): decoded = 0x0D
        case UInt8(ascii: "t"): decoded = 0x09
        case UInt8(ascii: "u"):
            position += 1
            try unicodeEscape(into: &bytes)
            return
        default: throw unexpected("an escape (one of \" \\ / b f n r t u) after '\\'")
        }
        bytes.append(decoded)
        position += 1
    }

    /// The four hex digits after `\u` (and a low surrogate's escape after a
    /// high one), appended to `bytes` as UTF-8.
    private mutating func unicodeEscape(into bytes: inout [UInt8]) throws {
        let escapeOffset = input.fileOffset(position - 2)
        let first = try hex4()
        var value = UInt32(first)
        if (0xDC00..<0xE000).contains(first) {
            throw ImportError.malformed(what: what, offset: escapeOffset,
                                        expected: "a high surrogate (\\uD800 … \\uDBFF) before a low surrogate",
                                        found: "\\u" + String(first, radix: 16))
        }
        if (0xD800..<0xDC00).contains(first) {
            let expected = "a low surrogate (\\uDC00 … \\uDFFF) after \\u" + String(first, radix: 16)
            guard input.matches(Array("\\u".utf8), at: position) else { throw unexpected(expected) }
            let lowOffset = fileOffset
            position += 2
            let second = try hex4()
            guard (0xDC00..<0xE000).contains(second) else {
                throw ImportError.malformed(what: what, offset: lowOffset, expected: expected,
                                            found: "\\u" + String(second, radix: 16))
            }
            value = 0x10000 + (UInt32(first - 0xD800) << 10) + UInt32(second - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw ImportError.malformed(what: what, offset: escapeOffset, expected: "a Unicode scalar",
                                        found: "\\u" + String(value, radix: 16))
        }
        UTF8.encode(scalar) { bytes.append($0) }
    }

    private mutating func hex4() throws -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            let digit: UInt16
            switch current {
            case let b? where b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"): digit = UInt16(b - UInt8(ascii: "0"))
            case let b? where b >= UInt8(ascii: "a") && b <= UInt8(ascii: "f"): digit = UInt16(b - UInt8(ascii: "a") + 10)
            case let b? where b >= UInt8(ascii: "A") && b <= UInt8(ascii: "F"): digit = UInt16(b - UInt8(ascii: "A") + 10)
            default: throw unexpected("four hexadecimal digits after \\u")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    /// A number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    private mutating func number() throws -> JSONNumber {
        let start = position
        let negative = current == UInt8(ascii: "-")
        if negative { position += 1 }
        let integerDigits = try digits("a digit")
        if integerDigits.count > 1 && input.bytes[integerDigits.lowerBound] == UInt8(ascii: "0") {
            position = integerDigits.lowerBound + 1
            throw unexpected("no digit after a leading 0")
        }
        var fractionDigits = position..<position
        if current == UInt8(ascii: ".") {
            position += 1
            fractionDigits = try digits("a digit after '.'")
        }
        var exponent = 0
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            let exponentNegative = current == UInt8(ascii: "-")
            if exponentNegative || current == UInt8(ascii: "+") { position += 1 }
            // Saturates: beyond ±10^9 the exponent decides integrality and range alone.
            for index in try digits("a digit in the exponent") {
                exponent = min(exponent * 10 + Int(input.bytes[index] - UInt8(ascii: "0")), 1_000_000_000)
            }
            if exponentNegative { exponent = -exponent }
        }
        if let value = integerValue(integerDigits, fractionDigits, exponent: exponent, negative: negative) {
            return .integer(value)
        }
        let length = position - start
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: input.bytes[start..<(start + min(length, 40))]), as: UTF8.self)
        return .other(length <= 40 ? text : String(text.prefix(32)) + "… (\(length) characters)")
    }

    /// One or more decimal digits at the current position, as a range of positions.
    private mutating func digits(_ expected: String) throws -> Range<Int> {
        let start = position
        while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { position += 1 }
        guard position > start else { throw unexpected(expected) }
        return start..<position
    }

    /// The exact value of the decimal `integerDigits.fractionDigits × 10^exponent`
    /// when it is an integer within `Int`; nil otherwise.
    private func integerValue(_ integerDigits: Range<Int>, _ fractionDigits: Range<Int>, exponent: Int, negative: Bool) -> Int? {
        // Digit k of the digits before and after the point, read as one string of digits.
        let count = integerDigits.count + fractionDigits.count
        func digit(_ k: Int) -> Int {
            let index = k < integerDigits.count ? integerDigits.lowerBound + k : fractionDigits.lowerBound + k - integerDigits.count
            return Int(input.bytes[index] - UInt8(ascii: "0"))
        }
        var first = 0
        while first < count && digit(first) == 0 { first += 1 }
        guard first < count else { return 0 }
        var last = count - 1
        while digit(last) == 0 { last -= 1 }
        // The value is digits first…last × 10^scale.
        let scale = exponent - fractionDigits.count + (count - 1 - last)
        guard scale >= 0, scale <= 19, last - first < 20 else { return nil }
        var magnitude: UInt64 = 0
        for k in first...last {
            let (shifted, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = shifted.addingReportingOverflow(UInt64(digit(k)))
            guard !o1, !o2 else { return nil }
            magnitude = sum
        }
        for _ in 0..<scale {
            let (shifted, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            magnitude = shifted
        }
        // -2^63 is an Int; +2^63 is not.
        if negative { return magnitude == UInt64(Int.max) + 1 ? Int.min : Int(exactly: magnitude).map { -$0 } }
        return Int(exactly: magnitude)
    }
}
