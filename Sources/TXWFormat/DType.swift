/// The element types of Spec/txw-format.md §1.5, with their codes in the index.
public enum DType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// IEEE 754 binary32, 4 bytes.
    case f32 = 1
    /// IEEE 754 binary64, 8 bytes.
    case f64 = 2
    /// IEEE 754 binary16, 2 bytes.
    case f16 = 3
    /// bfloat16 (the upper half of a binary32), 2 bytes.
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
