import Testing
@testable import TXWFormat

/// `NonFiniteCount.add` skips whole 8-byte words without a non-finite
/// element; these tests compare it with a count made element by element
/// from the values themselves (Float/Double, and f16/bf16 widened by hand).
@Suite struct NonFiniteCountTests {
    /// Element `i`'s value class computed independently of `DType.classify`.
    static func expected(_ bytes: [UInt8], _ dtype: DType, _ i: Int) -> (nan: Bool, inf: Bool) {
        func u(_ n: Int) -> UInt64 { (0..<n).reduce(0) { $0 | UInt64(bytes[i * n + $1]) << (8 * $1) } }
        switch dtype {
        case .f64: let x = Double(bitPattern: u(8)); return (x.isNaN, x.isInfinite)
        case .f32: let x = Float(bitPattern: UInt32(u(4))); return (x.isNaN, x.isInfinite)
        case .bf16: let x = Float(bitPattern: UInt32(u(2)) << 16); return (x.isNaN, x.isInfinite)
        case .f16:
            // f16 → f32 for the special values: exponent 31 maps to 255.
            let h = UInt32(u(2)), e = (h >> 10) & 31, m = h & 0x3FF
            return (e == 31 && m != 0, e == 31 && m == 0)
        }
    }

    static func specials(_ dtype: DType) -> [[UInt8]] {
        switch dtype {
        case .f64: [Double.nan, .infinity, -.infinity, -Double.nan].map { v in (0..<8).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * $0)) } }
        case .f32: [Float.nan, .infinity, -.infinity, Float(bitPattern: 0x7F80_0001)].map { v in (0..<4).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * $0)) } }
        case .f16: [[0x00, 0x7C], [0x00, 0xFC], [0x01, 0x7C], [0xFF, 0xFF]]
        case .bf16: [[0x80, 0x7F], [0x80, 0xFF], [0x81, 0x7F], [0xC0, 0xFF]]
        }
    }

    @Test(arguments: [DType.f64, .f32, .f16, .bf16])
    func wordSkippingCountsWhatElementsSay(_ dtype: DType) {
        var rng = SystemRandomNumberGenerator()
        for trial in 0..<300 {
            let count = Int.random(in: 0...37, using: &rng)
            // Mostly finite values near the special ones (exponent all ones but one bit).
            var bytes = (0..<(count * dtype.size + Int.random(in: 0..<dtype.size, using: &rng))).map { _ in UInt8.random(in: 0...255, using: &rng) }
            for i in 0..<count where Int.random(in: 0..<4, using: &rng) != 0 {
                // Clear one exponent bit: finite.
                let top = i * dtype.size + dtype.size - 1
                bytes[top] &= 0xBF
            }
            let placed = trial % 3 == 0 ? 0 : Int.random(in: 0...3, using: &rng)
            for _ in 0..<placed where count > 0 {
                let at = Int.random(in: 0..<count, using: &rng)
                let s = Self.specials(dtype).randomElement(using: &rng)!
                bytes.replaceSubrange((at * dtype.size)..<((at + 1) * dtype.size), with: s)
            }
            var want = NonFiniteCount()
            for i in 0..<count {
                let e = Self.expected(bytes, dtype, i)
                if e.nan { want.nan += 1 } else if e.inf { want.infinite += 1 } else { continue }
                if want.firstIndex == nil { want.firstIndex = 100 + i }
            }
            var got = NonFiniteCount()
            bytes.withUnsafeBytes { got.add($0, dtype: dtype, firstElement: 100) }
            #expect(got == want, "\(dtype) trial \(trial): \(bytes)")
        }
    }

    @Test func zeroLaneTestIsExactForEveryLanePosition() {
        for dtype in [DType.f64, .f32, .f16, .bf16] {
            let lanes = 8 / dtype.size
            for lane in 0..<lanes {
                let e = dtype.exponentMaskWord & ((dtype.size == 8 ? ~0 : (1 << (8 * dtype.size)) - 1) << (8 * dtype.size * lane))
                #expect(NonFiniteCount.mayHoldAllOnesExponent(e, exponents: dtype.exponentMaskWord, laneBits: 8 * dtype.size))
                // One exponent bit short in that lane and all ones elsewhere but one bit: no lane all ones.
                let almost = dtype.exponentMaskWord & ~(e & (e &- 1) ^ e) // drop the lowest exponent bit of the lane
                let others = (0..<lanes).filter { $0 != lane }.reduce(almost) { w, l in
                    let le = dtype.exponentMaskWord & ((dtype.size == 8 ? ~0 : (1 << (8 * dtype.size)) - 1) << (8 * dtype.size * l))
                    return w & ~(le & ~(le &- 1))
                }
                #expect(!NonFiniteCount.mayHoldAllOnesExponent(others, exponents: dtype.exponentMaskWord, laneBits: 8 * dtype.size), "\(dtype) lane \(lane)")
            }
        }
    }
}
