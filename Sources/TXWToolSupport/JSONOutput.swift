import TXWFormat
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The tools' `--json` results (Spec/cli.md), written by Foundation's `JSONEncoder`.
///
/// - Numbers are the shortest decimal that reads back to the same value in
///   the value's own precision: a `Float` is written as a `Float` (`0.1`, not
///   `0.10000000149011612`); an integral value has no `.0`.
/// - Non-finite numbers, which JSON cannot hold, are the strings `"NaN"`,
///   `"Infinity"` and `"-Infinity"`.
/// - Object keys are sorted, so the same result always gives the same bytes
///   (the encoder does not keep the order in which keys are encoded).
/// - `/` is not escaped (paths stay readable).
/// - Every character that does not print (`DisplayText.isPrintable`: controls
///   including DEL and C1, bidi and other format characters, U+2028/2029,
///   unassigned code points) is written as a `\uXXXX` escape (a surrogate
///   pair above U+FFFF), so the text is plain printable JSON that a terminal
///   shows safely and any JSON parser reads back to the same strings.
package enum JSONOutput {
    /// `value` as one line of compact JSON text.
    package static func text(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return escapingNonPrinting(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// `json` with every non-printing scalar written as `\uXXXX`. Compact
    /// JSON has such scalars only inside strings (the encoder escapes C0
    /// controls itself), where the escape is the same string.
    static func escapingNonPrinting(_ json: String) -> String {
        // The usual case: printable ASCII only.
        if json.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return json }
        var out = String.UnicodeScalarView()
        for scalar in json.unicodeScalars {
            if DisplayText.isPrintable(scalar) {
                out.append(scalar)
            } else {
                for unit in String(scalar).utf16 {
                    let hex = String(unit, radix: 16)
                    out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
                }
            }
        }
        return String(out)
    }

    /// `head` (an object) with one more member, `key: rawValue`, at its end.
    /// `rawValue` is JSON text already rendered, such as `numbers(_:)`; `key`
    /// must sort after every key of `head`, so that the keys stay sorted.
    package static func text(_ head: some Encodable, appending key: String, rawValue: String) throws -> String {
        var text = try self.text(head)
        precondition(text.first == "{" && text.last == "}", "not an object: \(text.prefix(40))")
        text.removeLast()
        if text != "{" { text += "," }
        return text + (try self.text(key)) + ":" + rawValue + "}"
    }

    /// Writes `head` (an object) with one more member `key` at its end, whose
    /// value `value` appends to a `ChunkedText` (`numbers(_:into:)`), then a
    /// newline: the text of `text(_:appending:rawValue:)` and `"\n"`, handed
    /// to `sink` in pieces of about `ChunkedText.defaultChunk` bytes, so the
    /// whole text is never held in memory.
    package static func write(
        _ head: some Encodable, appending key: String, to sink: @escaping (String) throws -> Void,
        value: (inout ChunkedText) throws -> Void
    ) throws {
        var text = try self.text(head)
        precondition(text.first == "{" && text.last == "}", "not an object: \(text.prefix(40))")
        text.removeLast()
        if text != "{" { text += "," }
        var out = ChunkedText(sink: sink)
        try out.append(text + (try self.text(key)) + ":")
        try value(&out)
        try out.append("}\n")
        try out.flush()
    }

    /// Appends the JSON array of `values` to `out`: the text of `numbers(_:)`.
    package static func numbers<F: BinaryFloatingPoint & CustomStringConvertible>(
        _ values: some Sequence<F>, into out: inout ChunkedText
    ) throws {
        try out.append("[")
        var first = true
        for v in values {
            try out.append(first ? number(v) : "," + number(v))
            first = false
        }
        try out.append("]")
    }

    /// A JSON array of numbers: the same text that `text(_:)` gives for the
    /// array, about five times faster. `JSONEncoder` boxes every element
    /// (about 2 µs each), and a tensor dump or the logits of a long sequence
    /// hold millions of them. ToolTests checks the two agree on every kind of
    /// value.
    package static func numbers<F: BinaryFloatingPoint & CustomStringConvertible>(_ values: some Sequence<F>) -> String {
        var out = "["
        var first = true
        for v in values {
            if !first { out += "," }
            first = false
            out += number(v)
        }
        return out + "]"
    }

    /// One number as `JSONEncoder` writes it: `description` without a
    /// trailing `.0`; non-finite values as strings.
    static func number<F: BinaryFloatingPoint & CustomStringConvertible>(_ v: F) -> String {
        guard v.isFinite else { return v.isNaN ? "\"NaN\"" : (v < 0 ? "\"-Infinity\"" : "\"Infinity\"") }
        var text = v.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }
}

/// A value whose key is always written: `null` when the value is absent.
/// (A synthesized `Encodable` leaves out the key of an absent optional.)
package struct JSONNullable<Wrapped: Encodable>: Encodable {
    /// The value, or nil for `null`.
    package var value: Wrapped?

    /// `value`, or `null` when it is nil.
    package init(_ value: Wrapped?) { self.value = value }

    /// Writes the value, or `null`.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value { try container.encode(value) } else { try container.encodeNil() }
    }
}

extension JSONNullable: Sendable where Wrapped: Sendable {}

/// A JSON object whose keys are known only at run time (metadata keys), in
/// the given order (the encoder then sorts them).
package struct JSONDynamicObject<Value: Encodable>: Encodable {
    /// The members; a key given twice keeps its last value.
    package var members: [(key: String, value: Value)]

    /// An object of `members`.
    package init(_ members: [(key: String, value: Value)]) { self.members = members }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Writes the members as one object.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for member in members { try container.encode(member.value, forKey: Key(stringValue: member.key)) }
    }
}


/// Text written in pieces: appended text is handed to a sink whenever about
/// `chunk` bytes have gathered, so a long output (a tensor dump, the logits
/// of a long sequence) needs only one piece of memory, not the whole text.
package struct ChunkedText {
    /// The default piece: 64 KiB.
    package static let defaultChunk = 1 << 16

    private var buffer = ""
    private let chunk: Int
    private let sink: (String) throws -> Void

    /// Hands pieces of about `chunk` bytes to `sink` (`Console.out` with no terminator, for the tools).
    package init(chunk: Int = ChunkedText.defaultChunk, sink: @escaping (String) throws -> Void) {
        self.chunk = chunk
        self.sink = sink
    }

    /// Appends `text`, handing the gathered text to the sink once it reaches `chunk` bytes.
    package mutating func append(_ text: String) throws {
        buffer += text
        if buffer.utf8.count >= chunk { try flush() }
    }

    /// Hands whatever has gathered to the sink.
    package mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try sink(buffer)
        buffer = ""
        buffer.reserveCapacity(chunk + 64)
    }
}
