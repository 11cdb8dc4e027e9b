#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A floating-point type the kernels compute in: `Float` (fast) or `Double`
/// (the notebook's precision).
///
/// The elementary functions come from the platform's C math library
/// (`exp`/`expf`, …), so `Double` results are those of numpy's float64 loops
/// to within an ulp or two; Spec/kernels.md states the tolerances.
public protocol KernelScalar: BinaryFloatingPoint, Sendable
where Self.RawSignificand: FixedWidthInteger {
    /// eˣ, from the platform's C math library.
    static func exp(_ x: Self) -> Self
    /// The natural logarithm, from the platform's C math library.
    static func log(_ x: Self) -> Self
    /// The hyperbolic tangent, from the platform's C math library.
    static func tanh(_ x: Self) -> Self
    /// A short name for messages: `f32` or `f64`.
    static var precisionName: String { get }
}

extension Float: KernelScalar {
    @inlinable public static func exp(_ x: Float) -> Float { expf(x) }
    @inlinable public static func log(_ x: Float) -> Float { logf(x) }
    @inlinable public static func tanh(_ x: Float) -> Float { tanhf(x) }
    public static var precisionName: String { "f32" }
}

extension Double: KernelScalar {
    @inlinable public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    @inlinable public static func log(_ x: Double) -> Double { Glibc.log(x) }
    @inlinable public static func tanh(_ x: Double) -> Double { Glibc.tanh(x) }
    public static var precisionName: String { "f64" }
}

/// Double-precision math used where the kernels compute in float64 whatever
/// the compute precision (positions, loss, sampling).
@usableFromInline
enum Math {
    @inlinable static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    @inlinable static func log(_ x: Double) -> Double { Glibc.log(x) }
    @inlinable static func sin(_ x: Double) -> Double { Glibc.sin(x) }
    @inlinable static func cos(_ x: Double) -> Double { Glibc.cos(x) }
    @inlinable static func pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
}
