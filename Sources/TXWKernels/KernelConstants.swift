/// The three constants of the notebook's kernels. A `.txw` file stores them
/// beside the hyperparameters, so a model keeps the numbers it was trained with.
public struct KernelConstants: Sendable, Equatable {
    /// Added to the mean of squares inside the square root of rmsnorm (notebook: 1e-9).
    public var rmsnormEpsilon: Double
    /// The base of the sinusoidal positions (notebook: 10000).
    public var positionalBase: Double
    /// The score given to future positions before the attention softmax (notebook: -1e9).
    public var maskValue: Double

    /// The notebook's constants.
    public static let notebook = KernelConstants(rmsnormEpsilon: 1e-9, positionalBase: 10000, maskValue: -1e9)

    /// The given constants, unchecked until `validate()`.
    public init(rmsnormEpsilon: Double, positionalBase: Double, maskValue: Double) {
        self.rmsnormEpsilon = rmsnormEpsilon
        self.positionalBase = positionalBase
        self.maskValue = maskValue
    }

    /// Checks the domain: epsilon finite and ≥ 0, base finite and > 1, mask value finite.
    public func validate() throws {
        guard rmsnormEpsilon.isFinite, rmsnormEpsilon >= 0 else {
            throw KernelError.invalidArgument(
                name: "rmsnorm_epsilon", value: "\(rmsnormEpsilon)", requirement: "must be finite and ≥ 0")
        }
        guard positionalBase.isFinite, positionalBase > 1 else {
            throw KernelError.invalidArgument(
                name: "positional_base", value: "\(positionalBase)", requirement: "must be finite and > 1")
        }
        guard maskValue.isFinite else {
            throw KernelError.invalidArgument(name: "mask_value", value: "\(maskValue)", requirement: "must be finite")
        }
    }

    /// The first constant whose value in precision `T` would change what the
    /// kernels compute, with that value: a mask value that is not finite in
    /// `T` (f32 overflows past ±3.4e38: every logit would be NaN), an epsilon
    /// that is not finite or that is > 0 but rounds to 0. `nil` when all fit.
    /// The positional base is not converted: positions are computed in
    /// float64 in both precisions.
    public func unrepresentable<T: KernelScalar>(in _: T.Type) -> (name: String, value: Double, converted: Double)? {
        let mask = T(maskValue), epsilon = T(rmsnormEpsilon)
        if !mask.isFinite { return ("mask_value", maskValue, Double(mask)) }
        if !epsilon.isFinite || (rmsnormEpsilon > 0 && epsilon <= 0) {
            return ("rmsnorm_epsilon", rmsnormEpsilon, Double(epsilon))
        }
        return nil
    }

    /// `validate()`, then checks that the constants keep their meaning in
    /// precision `T` (`unrepresentable(in:)`).
    public func validate<T: KernelScalar>(as type: T.Type) throws {
        try validate()
        if let (name, value, converted) = unrepresentable(in: type) {
            throw KernelError.invalidArgument(
                name: name, value: "\(value)",
                requirement: "must be \(name == "mask_value" ? "finite" : "finite and, when > 0, not 0") in \(T.precisionName) (it becomes \(converted))")
        }
    }
}
