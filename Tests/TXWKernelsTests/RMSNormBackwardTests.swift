import Testing
@testable import TXWKernels

/// The training step's rmsnorm backward (`Backward.rmsnormAdding`, the C
/// kernel `txw_rmsnorm_backward_*`) against the formula evaluated here in
/// float64, `add + dy/s − x·(Σ dy·x)/(n·s³)`, s = √(mean(x²) + ε): every
/// instruction set, widths below, at and past the kernel's 16-value blocks,
/// the output over dy (as the training step writes it) and over add.
struct RMSNormBackwardTests {
    static func reference(_ x: [Double], _ dy: [Double], _ add: [Double], cols: Int, epsilon: Double) -> [Double] {
        var out = [Double](repeating: 0, count: x.count)
        for r in 0..<(x.count / cols) {
            let row = (r * cols)..<((r + 1) * cols)
            let n = Double(cols)
            let s = (row.map { x[$0] * x[$0] }.reduce(0, +) / n + epsilon).squareRoot()
            let dot = row.map { dy[$0] * x[$0] }.reduce(0, +)
            for i in row { out[i] = add[i] + dy[i] / s - x[i] * dot / (n * s * s * s) }
        }
        return out
    }

    func check<T: KernelScalar>(_: T.Type, level: Int, cols: Int, tolerance: Double) {
        var rng = NumpyRandom(seed: UInt64(cols))
        let rows = 5
        let draw = { (scale: Double) in (0..<(rows * cols)).map { _ in T((rng.random() * 2 - 1) * scale) } }
        let (x, dy, add) = (draw(2), draw(1), draw(0.5))
        let expected = Self.reference(x.map(Double.init), dy.map(Double.init), add.map(Double.init), cols: cols, epsilon: 1e-9)
        for overDy in [true, false] {
            var out = overDy ? dy : add
            KernelConfiguration(threads: 2, instructionSetLevel: level).applied {
                out.withUnsafeMutableBufferPointer { o in
                    if overDy {
                        add.withUnsafeBufferPointer { a in x.withUnsafeBufferPointer { xs in
                            Backward.rmsnormAdding(x: xs.baseAddress!, dy: o.baseAddress!, to: a.baseAddress!, rows: rows, cols: cols,
                                                   epsilon: T(1e-9), out: o.baseAddress!)
                        }}
                    } else {
                        dy.withUnsafeBufferPointer { d in x.withUnsafeBufferPointer { xs in
                            Backward.rmsnormAdding(x: xs.baseAddress!, dy: d.baseAddress!, to: o.baseAddress!, rows: rows, cols: cols,
                                                   epsilon: T(1e-9), out: o.baseAddress!)
                        }}
                    }
                }
            }
            let scale = expected.map(abs).max() ?? 1
            let error = zip(out, expected).map { abs(Double($0) - $1) }.max() ?? 0
            #expect(error <= tolerance * scale, "\(T.self) level \(level) cols \(cols) over \(overDy ? "dy" : "add"): error \(error / scale)")
        }
    }

    @Test(arguments: [0, 1, 2])
    func matchesTheFormula(level: Int) {
        for cols in [1, 12, 16, 37, 128] {
            check(Double.self, level: level, cols: cols, tolerance: 1e-13)
            check(Float.self, level: level, cols: cols, tolerance: 1e-5)
        }
    }
}
