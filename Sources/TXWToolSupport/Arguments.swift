import ArgumentParser
import TXWFormat

/// `--dtype f32`; public because both the type and the protocol are (TXWToolSupport is not a product).
extension DType: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.description) }
}

/// The compute precision of `txw-run`.
package enum Precision: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// float32: fast.
    case f32
    /// float64: the notebook's numbers.
    case f64
}

/// Parses token ids written as `"3 1 4"` or `"3,1,4"`.
package func parseTokens(_ text: String, option: String) throws -> [Int] {
    let parts = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" || $0 == "\n" })
    var tokens: [Int] = []
    for part in parts {
        guard let id = Int(part) else {
            throw ValidationError("\(option): '\(Formatting.name(String(part)))' is not a token id (expected integers like \"3 1 4\")")
        }
        tokens.append(id)
    }
    return tokens
}

/// Numbers given on the command line: every numeric option is declared
/// `@Option(parsing: .unconditional)`, so that a negative value (`-t -1`)
/// is read as the option's value rather than as another flag, and then
/// reaches the range check, which says what is wrong (`NumberArguments.outOfRange`).
package enum NumberArguments {
    /// The usage error for a value out of range: `FLAG (WHAT) must be REQUIREMENT, got VALUE`
    /// (`-t (temperature) must be ≥ 0, got -1`); `what` is left out when nil.
    package static func outOfRange(_ flag: String, _ what: String? = nil, must requirement: String, got value: String) -> ValidationError {
        ValidationError("\(flag)\(what.map { " (\($0))" } ?? "") must be \(requirement), got \(Formatting.name(value))")
    }

    /// `value` as given: an integral double without its `.0` (`-1`, not `-1.0`).
    package static func text(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), value.magnitude < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// Parses a seed: an integer 0 … 2^64 − 1. Anything else, a negative
    /// number included, is refused; the parser's line names the flag and the
    /// value (`The value '-1' is invalid for '--seed <seed>': a seed is an
    /// integer 0 … 18446744073709551615, never negative`), exit 64.
    package static func seed(_ text: String) throws -> UInt64 {
        guard let value = UInt64(text) else { throw SeedError() }
        return value
    }

    /// Why a seed was refused (the parser appends it to its line).
    struct SeedError: Error, CustomStringConvertible {
        var description: String { "a seed is an integer 0 … \(UInt64.max), never negative" }
    }
}
