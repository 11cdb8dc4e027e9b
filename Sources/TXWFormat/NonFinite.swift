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
        for i in 0..<count {
            switch dtype.classify(bytes, element: i) {
            case .finite: continue
            case .nan: nan += 1
            case .infinite: infinite += 1
            }
            if firstIndex == nil { firstIndex = firstElement + i }
        }
    }
}

extension DType {
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
