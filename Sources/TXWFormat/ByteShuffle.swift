/// The byte-shuffle filter of §1.4: element bytes regrouped by byte plane.
enum ByteShuffle {
    /// `out[j·n + i] = input[i·size + j]` for n = count / size elements.
    static func shuffle(_ input: UnsafeRawBufferPointer, elementSize size: Int, into out: UnsafeMutableRawBufferPointer) {
        let n = input.count / size
        for i in 0..<n {
            for j in 0..<size { out[j * n + i] = input[i * size + j] }
        }
    }

    /// The inverse: `out[i·size + j] = input[j·n + i]`.
    static func unshuffle(_ input: UnsafeRawBufferPointer, elementSize size: Int, into out: UnsafeMutableRawBufferPointer) {
        let n = input.count / size
        for j in 0..<size {
            let plane = j * n
            for i in 0..<n { out[i * size + j] = input[plane + i] }
        }
    }
}
