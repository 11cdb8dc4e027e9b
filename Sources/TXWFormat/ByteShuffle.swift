/// The byte-shuffle filter of §1.4: element bytes regrouped by byte plane.
///
/// The 2-, 4- and 8-byte cases assemble whole elements from their planes
/// (loops the compiler vectorizes); any other size takes the byte loop.
enum ByteShuffle {
    /// `out[j·n + i] = input[i·size + j]` for n = count / size elements.
    static func shuffle(_ input: UnsafeRawBufferPointer, elementSize size: Int, into out: UnsafeMutableRawBufferPointer) {
        let n = input.count / size
        guard n > 0, let src = input.baseAddress, let dst = out.baseAddress else { return }
        let s = src.assumingMemoryBound(to: UInt8.self)
        let d = dst.assumingMemoryBound(to: UInt8.self)
        for i in 0..<n {
            for j in 0..<size { d[j * n + i] = s[i * size + j] }
        }
    }

    /// The inverse: `out[i·size + j] = input[j·n + i]`.
    static func unshuffle(_ input: UnsafeRawBufferPointer, elementSize size: Int, into out: UnsafeMutableRawBufferPointer) {
        let n = input.count / size
        guard n > 0, let src = input.baseAddress, let dst = out.baseAddress else { return }
        let p = src.assumingMemoryBound(to: UInt8.self)
        switch size {
        case 2:
            let o = dst.bindMemory(to: UInt16.self, capacity: n)
            let (p0, p1) = (p, p + n)
            for i in 0..<n { o[i] = (UInt16(p0[i]) | UInt16(p1[i]) << 8).littleEndian }
        case 4:
            let o = dst.bindMemory(to: UInt32.self, capacity: n)
            let (p0, p1, p2, p3) = (p, p + n, p + 2 * n, p + 3 * n)
            for i in 0..<n {
                o[i] = (UInt32(p0[i]) | UInt32(p1[i]) << 8 | UInt32(p2[i]) << 16 | UInt32(p3[i]) << 24).littleEndian
            }
        case 8:
            let o = dst.bindMemory(to: UInt64.self, capacity: n)
            for i in 0..<n {
                var v: UInt64 = 0
                for j in 0..<8 { v |= UInt64(p[j * n + i]) << (8 * UInt64(j)) }
                o[i] = v.littleEndian
            }
        default:
            let d = dst.assumingMemoryBound(to: UInt8.self)
            for j in 0..<size {
                let plane = j * n
                for i in 0..<n { d[i * size + j] = p[plane + i] }
            }
        }
    }
}
