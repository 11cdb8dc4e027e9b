/// The non-finite elements (NaN, +inf, −inf) of little-endian raw bytes of
/// one dtype, found from the bit patterns alone (an element is non-finite
/// when its exponent bits are all ones), without converting any value.
public struct NonFiniteCount: Sendable, Equatable {
    /// Elements that are NaN.
    public var nan: Int
    /// Elements that are +inf or −inf.
    public var infinite: Int
    /// The flat (row-major) index of the first non-finite element counted, if any.
    public var firstIndex: Int?

    /// A count of `nan` NaNs and `infinite` infinities, the first at `firstIndex`.
    public init(nan: Int = 0, infinite: Int = 0, firstIndex: Int? = nil) {
        self.nan = nan
        self.infinite = infinite
        self.firstIndex = firstIndex
    }

    /// NaNs and infinities together.
    public var total: Int { nan + infinite }

    /// Counts the non-finite elements of `bytes` (whole elements of `dtype`;
    /// a trailing partial element is ignored), whose first element has the
    /// flat index `firstElement`, and adds them to this count.
    public mutating func add(_ bytes: UnsafeRawBufferPointer, dtype: DType, firstElement: Int = 0) {
        let count = bytes.count / dtype.size
        // Eight bytes at a time: a word whose elements all have an exponent
        // that is not all ones holds no non-finite element and is skipped
        // whole; only the elements of the other words are classified. (A
        // 4 GiB tensor is verified in seconds, not minutes, even unoptimised.)
        let perWord = 8 / dtype.size
        let exponents = dtype.exponentMaskWord, laneBits = 8 * dtype.size
        // Whole words from the first 8-aligned byte that starts an element;
        // the elements before and after are classified one by one.
        guard let base = bytes.baseAddress, count >= 2 * perWord else {
            for j in 0..<count { classify(bytes, dtype: dtype, element: j, firstElement: firstElement) }
            return
        }
        let misalignment = Int(bitPattern: base) & 7
        let head = misalignment == 0 ? 0 : (8 - misalignment) / dtype.size
        if (8 - misalignment) % dtype.size != 0 && misalignment != 0 {
            for j in 0..<count { classify(bytes, dtype: dtype, element: j, firstElement: firstElement) }
            return
        }
        for j in 0..<head { classify(bytes, dtype: dtype, element: j, firstElement: firstElement) }
        let words = (count - head) / perWord
        (base + head * dtype.size).withMemoryRebound(to: UInt64.self, capacity: words) { aligned in
            // The zero-lane test of `mayHoldAllOnesExponent`, written out: this
            // loop runs once per 8 bytes of every verified tensor, and unoptimised
            // (debug) builds do not inline.
            let (ones, tops) = Self.laneConstants(laneBits: laneBits)
            var w = 0
            while w < words {
                #if _endian(big)
                let word = aligned[w].byteSwapped
                #else
                let word = aligned[w]
                #endif
                let v = (word & exponents) ^ exponents
                if (v &- ones) & ~v & tops != 0 {
                    let first = head + w * perWord
                    for j in first..<(first + perWord) { classify(bytes, dtype: dtype, element: j, firstElement: firstElement) }
                }
                w += 1
            }
        }
        for j in (head + words * perWord)..<count { classify(bytes, dtype: dtype, element: j, firstElement: firstElement) }
    }

    private mutating func classify(_ bytes: UnsafeRawBufferPointer, dtype: DType, element i: Int, firstElement: Int) {
        switch dtype.classify(bytes, element: i) {
        case .finite: return
        case .nan: nan += 1
        case .infinite: infinite += 1
        }
        if firstIndex == nil { firstIndex = firstElement + i }
    }

    /// Whether some lane (element) of `word` has every exponent bit set:
    /// v = (word & E) ^ E is zero in exactly those lanes, and since no lane
    /// of v has its top (sign) bit set, (v − ones) & ~v & tops is non-zero
    /// exactly when some lane of v is zero (the classic zero-lane test; a
    /// borrow can only follow a lane that is itself zero).
    @inline(__always)
    static func mayHoldAllOnesExponent(_ word: UInt64, exponents: UInt64, laneBits: Int) -> Bool {
        let v = (word & exponents) ^ exponents
        let (ones, tops) = laneConstants(laneBits: laneBits)
        return (v &- ones) & ~v & tops != 0
    }

    /// The lowest and the highest bit of every lane of a word of `laneBits`-bit lanes.
    static func laneConstants(laneBits: Int) -> (ones: UInt64, tops: UInt64) {
        switch laneBits {
        case 16: (0x0001_0001_0001_0001, 0x8000_8000_8000_8000)
        case 32: (0x0000_0001_0000_0001, 0x8000_0000_8000_0000)
        default: (1, 0x8000_0000_0000_0000)
        }
    }
}

extension DType {
    /// The exponent bits of every element of one little-endian 8-byte word of this dtype.
    package var exponentMaskWord: UInt64 {
        switch self {
        case .f64: 0x7FF0_0000_0000_0000
        case .f32: 0x7F80_0000_7F80_0000
        case .f16: 0x7C00_7C00_7C00_7C00
        case .bf16: 0x7F80_7F80_7F80_7F80
        }
    }

    /// Whether an element is finite, NaN or infinite.
    package enum ElementClass { case finite, nan, infinite }

    /// The class of element `i` of little-endian `bytes` of this dtype.
    package func classify(_ bytes: UnsafeRawBufferPointer, element i: Int) -> ElementClass {
        // (exponent mask, mantissa mask) of each dtype's bit pattern.
        switch self {
        case .f64:
            let bits = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
            return Self.classify(bits & 0x7FF0_0000_0000_0000 == 0x7FF0_0000_0000_0000, bits & 0x000F_FFFF_FFFF_FFFF != 0)
        case .f32:
            let bits = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
            return Self.classify(bits & 0x7F80_0000 == 0x7F80_0000, bits & 0x007F_FFFF != 0)
        case .f16:
            let bits = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            return Self.classify(bits & 0x7C00 == 0x7C00, bits & 0x03FF != 0)
        case .bf16:
            let bits = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            return Self.classify(bits & 0x7F80 == 0x7F80, bits & 0x007F != 0)
        }
    }

    private static func classify(_ exponentAllOnes: Bool, _ mantissaNonZero: Bool) -> ElementClass {
        exponentAllOnes ? (mantissaNonZero ? .nan : .infinite) : .finite
    }
}
