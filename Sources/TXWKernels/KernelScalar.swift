import RealModule

/// A floating-point type the kernels compute in: `Float` (fast) or `Double`
/// (the notebook's precision).
///
/// The elementary functions (`T.exp`, `T.log`, `T.tanh`, …) are those of
/// swift-numerics' `Real`, which calls the platform's C math library
/// (`exp`/`expf`, …), so `Double` results are those of numpy's float64 loops
/// to within an ulp or two; Spec/kernels.md states the tolerances.
public protocol KernelScalar: Real, BinaryFloatingPoint, Sendable
where Self.RawSignificand: FixedWidthInteger {
    /// A short name for messages: `f32` or `f64`.
    static var precisionName: String { get }
}

extension Float: KernelScalar {
    public static var precisionName: String { "f32" }
}

extension Double: KernelScalar {
    public static var precisionName: String { "f64" }
}
