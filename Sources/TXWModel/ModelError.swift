import TXWFormat
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
    /// A metadata key the profile requires is absent.
    case missingKey(String)
    /// A profile key holds a value of the wrong type.
    case wrongType(key: String, expected: String, found: String)
    /// A profile key's value is outside what the profile allows.
    case outOfRange(key: String, value: String, requirement: String)
    /// A `model.` key this version does not know.
    case unknownModelKey(String)
    /// A profile key that format version `since` added, in a file that
    /// declares the older version `found` (Spec/txw-format.md §2.3).
    case keyNeedsVersion(key: String, since: FormatVersion, found: FormatVersion)
    /// A tensor of the profile is absent.
    case missingTensor(String)
    /// A tensor that is not part of the profile.
    case unexpectedTensor(String)
    /// A tensor whose shape is not the one the hyperparameters imply.
    case shapeMismatch(tensor: String, expected: [Int], found: [Int])
    /// A tensor in another library's layout: its shape `found` is a known
    /// transposition or split of the `expected` one (`layout` names it, with
    /// its axes, e.g. TransformerLens's `(n_head, d_model, d_head)` for W_Q).
    case transposedLayout(tensor: String, expected: [Int], found: [Int], layout: String)
    /// The vocabulary is unusable, or a text or token id does not fit it (the detail says which).
    case vocabulary(String)
    /// User metadata may not use the profile's `model.` prefix.
    case reservedKey(String)
    /// A tensor from which the hyperparameters are inferred has `found` as
    /// its shape, not one of rank `axes.count` (the axes named by `axes`).
    case rank(tensor: String, axes: [String], found: [Int])
    /// A constant under `key` that does not keep its meaning in the compute
    /// precision `precision` (`f32`): it becomes `converted` (an infinite
    /// mask value, an epsilon that overflows or rounds to 0).
    case precision(key: String, value: Double, precision: String, converted: Double)
    /// The hyperparameters or the weights were refused by the kernels' checks.
    case kernel(KernelError)
    /// The model cannot be written in an exchange format (npz, safetensors): why.
    case unexportable(format: String, detail: String)
    /// The file is an activation cache (`ActivationCacheFile`), not a model.
    case activationCache

    /// The §1.9 category: `model` for every case.
    public var category: String { "model" }

    /// `model: ` and what is wrong, naming the key or tensor.
    /// Keys and tensor names from a file are escaped (`DisplayText`), so the
    /// description is one printable line whatever the file holds.
    public var description: String {
        func id(_ s: String) -> String { DisplayText.escaped(s) }
        func text(_ s: String) -> String { DisplayText.escaped(s, .keepBackslashes) }
        return "model: " + {
            switch self {
            case let .missingKey(key): return "missing metadata key '\(id(key))'"
            case let .wrongType(key, expected, found): return "metadata '\(id(key))' must be \(text(expected)), found \(text(found))"
            case let .outOfRange(key, value, requirement): return "metadata '\(id(key))' = \(text(value)): \(text(requirement))"
            case let .unknownModelKey(key): return "unknown model key '\(id(key))' (keys beginning with 'model.' are reserved)"
            case let .keyNeedsVersion(key, since, found):
                return "metadata '\(id(key))' is part of format version \(since) and later, but the file declares version \(found)"
            case let .missingTensor(name): return "missing tensor '\(id(name))'"
            case let .unexpectedTensor(name): return "unexpected tensor '\(id(name))' (a model holds W_E and blocks.{i}.* only)"
            case let .shapeMismatch(name, expected, found):
                return "tensor '\(id(name))' has shape \(Self.shape(found)), expected \(Self.shape(expected))"
            case let .transposedLayout(name, expected, found, layout):
                let axes = name.hasSuffix("W_O") ? "n_head·d_head, d_model" : "d_model, d_head, n_head"
                return "tensor '\(id(name))' has shape \(Self.shape(found)), the layout of \(layout); txw expects \(Self.shape(expected)) "
                    + "(\(axes)): permute its axes before importing"
            case let .vocabulary(detail): return "vocabulary: \(text(detail))"
            case let .reservedKey(key): return "metadata key '\(id(key))' is reserved for the model profile"
            case let .rank(tensor, axes, found):
                return "\(tensor) has shape \(Self.shape(found)), expected rank \(axes.count) (\(axes.joined(separator: ", ")))"
            case let .precision(key, value, precision, converted):
                return "metadata '\(key)' = \(value) is \(converted) in \(precision), so the model cannot be computed in \(precision)"
            case let .kernel(error): return error.description
            case let .unexportable(format, detail): return "cannot write \(format): \(text(detail))"
            case .activationCache:
                return "an activation cache (metadata cache.profile = activation-cache), not a model: it holds the activations of one run, not weights"
            }
        }()
    }

    static func shape(_ dims: [Int]) -> String { "(" + dims.map(String.init).joined(separator: ", ") + ")" }
}
