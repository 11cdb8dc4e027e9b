/// The element types of Spec/txw-format.md §1.5, with their codes in the index.
public enum DType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 1
    case f64 = 2
    case f16 = 3
    case bf16 = 4

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f32: 4
        case .f64: 8
        case .f16, .bf16: 2
        }
    }

    public var description: String {
        switch self {
        case .f32: "f32"
        case .f64: "f64"
        case .f16: "f16"
        case .bf16: "bf16"
        }
    }

    /// Parses `f32`, `f64`, `f16` or `bf16`.
    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = match
    }
}
