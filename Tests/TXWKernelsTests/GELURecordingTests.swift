import Testing
@testable import TXWKernels

/// The training step's forward GELU keeps the derivative for the backward
/// pass (`Gemm.geluRecording`): its activation must be `geluInPlace`'s bits
/// and its derivative the factor `Backward.gelu` multiplies dy by (dy = 1),
/// at every instruction set level, for a length off every vector width.
struct GELURecordingTests {
    static let inputs: [Double] = (0..<45).map { i in
        let t = Double(i - 22) / 22  // −1 … 1
        return t * t * t * 12 + (i % 3 == 0 ? 1e-3 : 0)
    } + [0, -0.0, 30, -30, 1e-8, -1e-8]

    func check<T: KernelScalar>(_: T.Type, level: Int) {
        let x = Self.inputs.map { T($0) }
        let (activation, derivative, expectedActivation, expectedDerivative) = KernelConfiguration(instructionSetLevel: level).applied {
            var kept = x, act = [T](repeating: .nan, count: x.count), plain = x
            kept.withUnsafeMutableBufferPointer { k in act.withUnsafeMutableBufferPointer { a in
                Gemm.geluRecording(k.baseAddress!, activation: a.baseAddress!, count: x.count)
            }}
            plain.withUnsafeMutableBufferPointer { Gemm.geluInPlace($0.baseAddress!, count: x.count) }
            let factor = Backward.gelu(x: x, dy: [T](repeating: 1, count: x.count))
            return (act, kept, plain, factor)
        }
        let differing = { (a: [T], b: [T]) in zip(a, b).filter { Double($0).bitPattern != Double($1).bitPattern }.count }
        let (act, der) = (differing(activation, expectedActivation), differing(derivative, expectedDerivative))
        #expect(act == 0 && der == 0, "\(T.self) level \(level): values with other bits: activation \(act), derivative \(der)")
        #expect(derivative.contains { $0 != 1 && $0 != 0 }, "the derivative is not trivially 0 or 1")
    }

    @Test(arguments: [0, 1, 2])
    func recordingGivesTheForwardAndBackwardBits(level: Int) {
        check(Float.self, level: level)
        check(Double.self, level: level)
    }
}
