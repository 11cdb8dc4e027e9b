/// A typed metadata value (Spec/txw-format.md §1.3), with its type code.
public enum MetadataValue: Sendable, Equatable, CustomStringConvertible {
    /// A signed 64-bit integer (type code 1).
    case int(Int64)
    /// A binary64 float (type code 2).
    case float(Double)
    /// A boolean (type code 3).
    case bool(Bool)
    /// A UTF-8 string of at most `FormatLimits.maxStringLength` bytes (type code 4).
    case string(String)
    /// A list of UTF-8 strings, at most `FormatLimits.maxStringsInList` of them (type code 5).
    case strings([String])

    /// The type code stored in the manifest (§1.3): 1 int … 5 strings.
    package var typeCode: UInt8 {
        switch self {
        case .int: 1
        case .float: 2
        case .bool: 3
        case .string: 4
        case .strings: 5
        }
    }

    /// `int`, `float`, `bool`, `string` or `strings`.
    public var typeName: String {
        switch self {
        case .int: "int"
        case .float: "float"
        case .bool: "bool"
        case .string: "string"
        case .strings: "strings"
        }
    }

    public var description: String {
        switch self {
        case let .int(v): "\(v)"
        case let .float(v): "\(v)"
        case let .bool(v): "\(v)"
        case let .string(v): v
        case let .strings(v): "[" + v.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        }
    }

    /// Bitwise equality for floats (so NaN metadata compares equal to itself).
    public static func == (a: MetadataValue, b: MetadataValue) -> Bool {
        switch (a, b) {
        case let (.int(x), .int(y)): x == y
        case let (.float(x), .float(y)): x.bitPattern == y.bitPattern
        case let (.bool(x), .bool(y)): x == y
        case let (.string(x), .string(y)): Array(x.utf8) == Array(y.utf8)
        case let (.strings(x), .strings(y)): x.map { Array($0.utf8) } == y.map { Array($0.utf8) }
        default: false
        }
    }
}
