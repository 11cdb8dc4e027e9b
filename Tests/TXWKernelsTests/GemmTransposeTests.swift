import Testing
@testable import TXWKernels

/// `Gemm.multiply`/`Gemm.serial` with a transposed operand: op(A)·op(B) with
/// op ∈ {identity, transpose}, nothing materialised. Every element must be
/// the in-order sum over k (fused multiply-add at levels 1 and 2, multiply
/// then add at 0) of a plain loop reading the operands through the transpose,
/// bit for bit, on 1, 2 and 3 threads; and `A·Bᵀ` must have the bits of
/// `A·(Bᵀ materialised)`.
struct GemmTransposeTests {
    /// Odd shapes in 1…70 (not multiples of any tile or panel), one-row
    /// products, and a product large enough to be split over threads (rows
    /// and columns).
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (1, 37, 11), (2, 9, 70), (5, 70, 3), (7, 17, 29), (13, 33, 1), (24, 40, 12),
        (31, 65, 47), (70, 70, 70), (45, 8, 64), (1, 70, 70), (64, 130, 40), (100, 96, 33),
    ]

    func value<T: KernelScalar>(_ x: [T], _ ld: Int, _ row: Int, _ col: Int, transposed: Bool) -> T {
        transposed ? x[col * ld + row] : x[row * ld + col]
    }

    func check<T: KernelScalar>(_: T.Type, level: Int, transposeA: Bool, transposeB: Bool) {
        var rng = NumpyRandom(seed: 31)
        for (m, n, k) in Self.shapes {
            // Stored shapes: A is m×k or (transposed) k×m; B is k×n or n×k; strides wider than rows.
            let (aRows, aCols) = transposeA ? (k, m) : (m, k)
            let (bRows, bCols) = transposeB ? (n, k) : (k, n)
            let (lda, ldb, ldc) = (aCols + 3, bCols + 5, n + 2)
            let a = (0..<(aRows * lda)).map { _ in T(rng.random() * 2 - 1) }
            let b = (0..<(bRows * ldb)).map { _ in T(rng.random() * 2 - 1) }
            var want = [T](repeating: 0, count: m * ldc)
            for i in 0..<m {
                for j in 0..<n {
                    var s: T = 0
                    for p in 0..<k {
                        let x = value(a, lda, i, p, transposed: transposeA), y = value(b, ldb, p, j, transposed: transposeB)
                        s = level > 0 ? s.addingProduct(x, y) : s + x * y
                    }
                    want[i * ldc + j] = s
                }
            }
            for threads in [1, 2, 3] {
                var c = [T](repeating: .nan, count: m * ldc)
                KernelConfiguration(threads: threads, instructionSetLevel: level).applied {
                    a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                        if threads == 1 {
                            Gemm.serial(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                        a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, c: cp.baseAddress!, ldc: ldc)
                        } else {
                            Gemm.multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                          a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, c: cp.baseAddress!, ldc: ldc)
                        }
                    }}}
                }
                let got = (0..<m).flatMap { i in (0..<n).map { c[i * ldc + $0].bitPattern64 } }
                let expected = (0..<m).flatMap { i in (0..<n).map { want[i * ldc + $0].bitPattern64 } }
                #expect(got == expected, "\(T.self) level \(level) tA \(transposeA) tB \(transposeB) threads \(threads) m \(m) n \(n) k \(k)")
            }
        }
    }

    @Test(arguments: [0, 1, 2])
    func everyTransposeIsTheInOrderSum(level: Int) {
        let ran = KernelConfiguration(instructionSetLevel: level).effectiveLevel
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            check(Float.self, level: ran, transposeA: ta, transposeB: tb)
            check(Double.self, level: ran, transposeA: ta, transposeB: tb)
        }
    }

    /// A·Bᵀ against A·(Bᵀ materialised) with the untransposed kernel: the same bits.
    @Test func transposedProductMatchesMaterialisedTranspose() {
        var rng = NumpyRandom(seed: 5)
        for (m, n, k) in [(48, 64, 64), (7, 130, 33), (1, 70, 64)] {
            let a = (0..<(m * k)).map { _ in Float(rng.random() * 2 - 1) }
            let bt = (0..<(n * k)).map { _ in Float(rng.random() * 2 - 1) }  // n×k
            var b = [Float](repeating: 0, count: k * n)  // k×n
            for j in 0..<n { for p in 0..<k { b[p * n + j] = bt[j * k + p] } }
            var viaT = [Float](repeating: .nan, count: m * n), plain = viaT
            a.withUnsafeBufferPointer { ap in
                bt.withUnsafeBufferPointer { tp in viaT.withUnsafeMutableBufferPointer { cp in
                    Gemm.multiply(transposeB: true, m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: tp.baseAddress!, ldb: k, c: cp.baseAddress!, ldc: n)
                }}
                b.withUnsafeBufferPointer { bp in plain.withUnsafeMutableBufferPointer { cp in
                    Gemm.multiply(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: n, c: cp.baseAddress!, ldc: n)
                }}
            }
            #expect(viaT.map(\.bitPattern) == plain.map(\.bitPattern), "m \(m) n \(n) k \(k)")
        }
    }
}
