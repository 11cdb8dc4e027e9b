import Testing
@testable import TXWKernels

/// The C GEMM computes every element as one sum over k in increasing order:
/// with fused multiply-add on AVX2 and AVX-512, multiply then add on the
/// baseline. Checked bit for bit against that loop for every row-tile size
/// (1…6 and their mixes), the one-row path (B streamed row by row, column
/// blocks of 1024), column edges (n not a multiple of the panel
/// width), the automatic plan's tiles and k blocks (k = 600 and 2^17 exceed
/// kc), panels packed (≥ 24 rows) and read in place, A packed (≥ 4 panels)
/// and read in place, buffers on the stack and on the heap, and leading
/// dimensions. Other plans: GemmPlanTests.
struct GemmTests {
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (1, 33, 7), (2, 16, 3), (3, 17, 5), (4, 32, 8), (5, 31, 9), (6, 64, 4),
        (7, 65, 16), (13, 40, 33), (16, 128, 32), (23, 70, 130), (24, 48, 12), (30, 100, 600), (50, 9, 2), (1, 2100, 5), (1, 512, 128), (8, 64, 9), (15, 33, 4), (17, 96, 3), (1, 8, 1 << 17),
    ]

    func expected<T: KernelScalar>(
        m: Int, n: Int, k: Int, a: [T], lda: Int, b: [T], ldb: Int, fused: Bool
    ) -> [T] {
        var c = [T](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s: T = 0
                for p in 0..<k {
                    s = fused ? s.addingProduct(a[i * lda + p], b[p * ldb + j]) : s + a[i * lda + p] * b[p * ldb + j]
                }
                c[i * n + j] = s
            }
        }
        return c
    }

    func check<T: KernelScalar>(_: T.Type, level: Int) {
        var rng = NumpyRandom(seed: 77)
        for (m, n, k) in Self.shapes {
            let (lda, ldb) = (k + 3, n + 5)
            let a = (0..<(m * lda)).map { _ in T(rng.random() * 2 - 1) }
            let b = (0..<(k * ldb)).map { _ in T(rng.random() * 2 - 1) }
            let want = expected(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, fused: level > 0)
            var c = [T](repeating: .nan, count: m * n)
            KernelConfiguration(threads: 1, instructionSetLevel: level).applied {
                a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                    Gemm.serial(m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, c: cp.baseAddress!, ldc: n)
                }}}
            }
            #expect(c.map(\.bitPattern64) == want.map(\.bitPattern64), "\(T.self) level \(level) m \(m) n \(n) k \(k)")
            // Split over rows (as the threads split it): the same bits.
            var split = [T](repeating: .nan, count: m * n)
            KernelConfiguration(threads: 3, instructionSetLevel: level).applied {
                a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in split.withUnsafeMutableBufferPointer { cp in
                    Gemm.multiply(m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, c: cp.baseAddress!, ldc: n)
                }}}
            }
            #expect(split.map(\.bitPattern64) == want.map(\.bitPattern64), "threaded \(T.self) level \(level) m \(m) n \(n) k \(k)")
        }
    }

    @Test(arguments: [0, 1, 2])
    func everyElementIsOneOrderedSum(level: Int) {
        // A level this CPU lacks runs a lower one; check what actually ran.
        let ran = KernelConfiguration(instructionSetLevel: level).effectiveLevel
        check(Float.self, level: ran)
        check(Double.self, level: ran)
    }
}

extension KernelScalar {
    var bitPattern64: UInt64 {
        if let f = self as? Float { return UInt64(f.bitPattern) }
        if let d = self as? Double { return d.bitPattern }
        return 0
    }
}
