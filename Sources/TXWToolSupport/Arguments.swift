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
