/// A JSON value with ordered object keys and exact number formatting: every
/// floating-point number is written as the shortest decimal that reads back
/// to the same value (Swift's `description`), in its own precision.
/// Non-finite numbers, which JSON cannot hold, are written as the strings
/// "NaN", "Infinity" and "-Infinity".
public indirect enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case float(Float)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    public static func == (a: JSON, b: JSON) -> Bool { a.rendered() == b.rendered() }

    public static func int(_ v: Int) -> JSON { .int(Int64(v)) }

    /// Compact JSON text.
    public func rendered() -> String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case let .bool(v): out += v ? "true" : "false"
        case let .int(v): out += String(v)
        case let .double(v): out += Self.number(v.isFinite, v.description, v.isNaN, v < 0)
        case let .float(v): out += Self.number(v.isFinite, v.description, v.isNaN, v < 0)
        case let .string(s): Self.quote(s, into: &out)
        case let .array(items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case let .object(fields):
            out += "{"
            for (i, (key, value)) in fields.enumerated() {
                if i > 0 { out += "," }
                Self.quote(key, into: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    static func number(_ finite: Bool, _ text: String, _ nan: Bool, _ negative: Bool) -> String {
        if finite { return text }
        return nan ? "\"NaN\"" : (negative ? "\"-Infinity\"" : "\"Infinity\"")
    }

    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
