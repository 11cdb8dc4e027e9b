/// Row-major matrix products on raw buffers, the one place the kernels
/// multiply matrices (so the GEMM path can be chosen in one place).
@usableFromInline
enum Gemm {
    /// `C[m×n] = A[m×k] · B[k×n]` (or `· Bᵀ` with B stored `n×k` when
    /// `transposeB`), overwriting C. Leading dimensions are row strides.
    @inlinable
    static func multiply<T: KernelScalar>(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<T>, lda: Int,
        b: UnsafePointer<T>, ldb: Int, transposeB: Bool = false,
        c: UnsafeMutablePointer<T>, ldc: Int
    ) {
        if transposeB {
            for i in 0..<m {
                let aRow = a + i * lda
                let cRow = c + i * ldc
                for j in 0..<n {
                    let bRow = b + j * ldb
                    var sum: T = 0
                    for p in 0..<k { sum += aRow[p] * bRow[p] }
                    cRow[j] = sum
                }
            }
        } else {
            for i in 0..<m {
                let aRow = a + i * lda
                let cRow = c + i * ldc
                cRow.update(repeating: 0, count: n)
                for p in 0..<k {
                    let aip = aRow[p]
                    let bRow = b + p * ldb
                    for j in 0..<n { cRow[j] += aip * bRow[j] }
                }
            }
        }
    }
}
