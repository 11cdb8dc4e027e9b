extension Kernels {
    /// The tanh approximation of GELU, elementwise:
    /// `0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³)))`.
    public static func gelu<T>(_ x: Tensor<T>) -> Tensor<T> {
        transform(x) { src, dst in geluInPlace(count: x.count, src: src, dst: dst) }
    }

    @inlinable
    static func geluInPlace<T: KernelScalar>(count: Int, src: UnsafePointer<T>, dst: UnsafeMutablePointer<T>) {
        let c = T((2 / Double.pi).squareRoot())
        let a = T(0.044715)
        for i in 0..<count {
            let v = src[i]
            dst[i] = T(0.5) * v * (1 + T.tanh(c * (v + a * (v * v * v))))
        }
    }
}
