import TXWKernels

/// Why a container is not a valid txw model (Spec/txw-format.md §2); the
/// §1.9 category of all of these is `model`.
///
/// TXWModel throws this for the model profile. Errors of the modules below
/// keep their own types: a `KernelError` met while checking a model is
/// wrapped here as `.kernel`, with its payload; `TXWFormatError` (the
/// container: bytes, checksums, files) and the importers' `ImportError` pass
/// through unchanged. No case names a command-line flag.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingKey(String)
    case wrongType(key: String, expected: String, found: String)
    case outOfRange(key: String, value: String, requirement: String)
    case unknownModelKey(String)
    case missingTensor(String)
    case unexpectedTensor(String)
    case shapeMismatch(tensor: String, expected: [Int], found: [Int])
    case vocabulary(String)
    /// User metadata may not use the profile's `model.` prefix.
    case reservedKey(String)
    /// A tensor from which the hyperparameters are inferred has `found` as
    /// its shape, not one of rank `axes.count` (the axes named by `axes`).
    case rank(tensor: String, axes: [String], found: [Int])
    /// The hyperparameters or the weights were refused by the kernels' checks.
    case kernel(KernelError)

    public var category: String { "model" }

    public var description: String {
        "model: " + {
            switch self {
            case let .missingKey(key): return "missing metadata key '\(key)'"
            case let .wrongType(key, expected, found): return "metadata '\(key)' must be \(expected), found \(found)"
            case let .outOfRange(key, value, requirement): return "metadata '\(key)' = \(value): \(requirement)"
            case let .unknownModelKey(key): return "unknown model key '\(key)' (keys beginning with 'model.' are reserved)"
            case let .missingTensor(name): return "missing tensor '\(name)'"
            case let .unexpectedTensor(name): return "unexpected tensor '\(name)' (a model holds W_E and blocks.{i}.* only)"
            case let .shapeMismatch(name, expected, found):
                return "tensor '\(name)' has shape \(Self.shape(found)), expected \(Self.shape(expected))"
            case let .vocabulary(detail): return "vocabulary: \(detail)"
            case let .reservedKey(key): return "metadata key '\(key)' is reserved for the model profile"
            case let .rank(tensor, axes, found):
                return "\(tensor) has shape \(Self.shape(found)), expected rank \(axes.count) (\(axes.joined(separator: ", ")))"
            case let .kernel(error): return error.description
            }
        }()
    }

    static func shape(_ dims: [Int]) -> String { "(" + dims.map(String.init).joined(separator: ", ") + ")" }
}
