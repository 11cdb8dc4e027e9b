/// Rearranges an array's bytes into the importers' output form:
/// little-endian elements in C (row-major) order.
enum ArrayLayout {
    /// Reverses the bytes of each `elementSize`-byte element in place.
    static func byteSwap(_ bytes: inout [UInt8], elementSize: Int) {
        guard elementSize > 1 else { return }
        bytes.withUnsafeMutableBufferPointer { buffer in
            var start = 0
            while start + elementSize <= buffer.count {
                var (i, j) = (start, start + elementSize - 1)
                while i < j {
                    buffer.swapAt(i, j)
                    i += 1
                    j -= 1
                }
                start += elementSize
            }
        }
    }

    /// The elements of `bytes`, stored in Fortran (column-major) order for
    /// `shape`, in C (row-major) order. `bytes.count` must be the product of
    /// `shape` times `elementSize` (the callers have checked it).
    static func fortranToC(_ bytes: [UInt8], shape: [Int], elementSize: Int) -> [UInt8] {
        let rank = shape.count
        guard rank >= 2 else { return bytes }
        // Fortran strides, in elements: the first axis varies fastest.
        var strides = [Int](repeating: 1, count: rank)
        for k in 1..<rank { strides[k] = strides[k - 1] * shape[k - 1] }
        var output = [UInt8](repeating: 0, count: bytes.count)
        let count = bytes.count / elementSize
        bytes.withUnsafeBytes { from in
            output.withUnsafeMutableBytes { to in
                guard let source = from.baseAddress, let target = to.baseAddress else { return }
                var index = [Int](repeating: 0, count: rank)
                var fortranOffset = 0
                for c in 0..<count {
                    (target + c * elementSize).copyMemory(from: source + fortranOffset * elementSize, byteCount: elementSize)
                    // Advance the C-order multi-index: the last axis fastest.
                    var axis = rank - 1
                    while axis >= 0 {
                        index[axis] += 1
                        fortranOffset += strides[axis]
                        if index[axis] < shape[axis] { break }
                        fortranOffset -= strides[axis] * shape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
        return output
    }
}
