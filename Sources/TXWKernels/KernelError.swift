/// Why a kernel refused its input. Every value that reaches the kernels from a
/// file, a flag or a caller is checked at the public boundary and reported
/// with one of these; nothing in the public API traps on bad input.
public enum KernelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A tensor's shape is not the one required (`what` names it, e.g. `blocks.1.W_Q`).
    case shapeMismatch(what: String, expected: [Int], found: [Int])
    /// A shape whose element count does not match the data it was given.
    case elementCountMismatch(what: String, shape: [Int], expected: Int, found: Int)
    /// A dimension that is negative, zero where zero is not allowed, or whose product overflows.
    case invalidDimension(what: String, detail: String)
    /// A parameter out of its domain (`k < 1`, `t < 0`, an odd `d_model`, …).
    case invalidArgument(name: String, value: String, requirement: String)
    /// A token id outside `0..<vocabSize` at `position` of the input.
    case tokenOutOfRange(position: Int, token: Int, vocabSize: Int)
    /// An input sequence that is empty or too short for the operation.
    case sequenceTooShort(what: String, minimum: Int, found: Int)
    /// Logits that are NaN where a decision must be taken (sampling).
    case nonFiniteLogits(position: Int, detail: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(what, expected, found):
            return "\(what): expected shape \(Self.shape(expected)), found \(Self.shape(found))"
        case let .elementCountMismatch(what, shape, expected, found):
            return "\(what): shape \(Self.shape(shape)) holds \(expected) elements, found \(found)"
        case let .invalidDimension(what, detail):
            return "\(what): \(detail)"
        case let .invalidArgument(name, value, requirement):
            return "\(name) = \(value): \(requirement)"
        case let .tokenOutOfRange(position, token, vocabSize):
            return "token \(token) at position \(position) is outside the vocabulary 0..<\(vocabSize)"
        case let .sequenceTooShort(what, minimum, found):
            return "\(what) needs at least \(minimum) token\(minimum == 1 ? "" : "s"), found \(found)"
        case let .nonFiniteLogits(position, detail):
            return "logits at position \(position) are not usable: \(detail)"
        }
    }

    static func shape(_ dims: [Int]) -> String {
        "(" + dims.map(String.init).joined(separator: ", ") + ")"
    }
}
