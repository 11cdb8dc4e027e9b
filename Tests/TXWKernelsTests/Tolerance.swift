import Testing
import TXWKernels

/// The tolerances of Spec/kernels.md: float64 results within 1e-9 relative
/// with a 1e-12 absolute floor; float32 results within 1e-4 relative to
/// max(|expected|, 1).
enum Tolerance {
    static func allows<T: KernelScalar>(_ found: T, _ expected: Double) -> Bool {
        let f = Double(found)
        if expected.isNaN { return f.isNaN }
        if expected.isInfinite { return f == expected }
        if T.self == Double.self {
            return abs(f - expected) <= max(1e-9 * abs(expected), 1e-12)
        }
        return abs(f - expected) <= 1e-4 * max(abs(expected), 1)
    }
}

/// Records one issue naming the first element out of tolerance (and how many are).
func expectClose<T: KernelScalar>(
    _ found: Tensor<T>, _ expected: TensorFixture, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(found.shape == expected.shape, "\(what): shape", sourceLocation: sourceLocation)
    guard found.shape == expected.shape else { return }
    expectClose(found.scalars, expected.data, what, sourceLocation: sourceLocation)
}

func expectClose<T: KernelScalar>(
    _ found: [T], _ expected: [Double], _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(found.count == expected.count, "\(what): count", sourceLocation: sourceLocation)
    var bad: [Int] = []
    for i in 0..<min(found.count, expected.count) where !Tolerance.allows(found[i], expected[i]) {
        bad.append(i)
    }
    if let first = bad.first {
        Issue.record(
            "\(what) [\(T.precisionName)]: \(bad.count) element(s) out of tolerance; first at \(first): found \(found[first]), expected \(expected[first])",
            sourceLocation: sourceLocation)
    }
}
