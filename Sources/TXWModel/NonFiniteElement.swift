import TXWFormat

/// The first weight of a model that is not finite (NaN, ±inf), or that
/// becomes infinite when converted to the stored dtype
/// (`ModelArrays.firstNonFinite(storedAs:)`).
public struct NonFiniteElement: Sendable, Equatable {
    /// The tensor's name.
    public let tensor: String
    /// The tensor's shape (for the multi-index of `index`).
    public let shape: [Int]
    /// The element's flat (row-major) index.
    public let index: Int
    /// The value in the source (NaN, ±inf, or a finite value too large for `storedAs`).
    public let value: Double
    /// The dtype in which a finite value becomes infinite; nil when the value is not finite in the source.
    public let storedAs: DType?
}

extension ModelArrays {
    /// The first element, in tensor order then row-major order, that is not
    /// finite, or that is finite but becomes ±inf stored as `dtype` (nil:
    /// each tensor keeps its dtype). nil when every weight is finite as stored.
    public func firstNonFinite(storedAs dtype: DType?) -> NonFiniteElement? {
        for array in arrays {
            let target = dtype ?? array.dtype
            let found: NonFiniteElement? = array.bytes.withUnsafeBytes { bytes in
                let count = bytes.count / array.dtype.size
                for i in 0..<count {
                    let isFinite = array.dtype.classify(bytes, element: i) == .finite
                    guard !isFinite || target != array.dtype else { continue }
                    let value = Self.value(bytes, element: i, dtype: array.dtype)
                    if !isFinite {
                        return NonFiniteElement(tensor: array.name, shape: array.shape, index: i, value: value, storedAs: nil)
                    }
                    if !Self.staysFinite(value, in: target) {
                        return NonFiniteElement(tensor: array.name, shape: array.shape, index: i, value: value, storedAs: target)
                    }
                }
                return nil
            }
            if let found { return found }
        }
        return nil
    }

    /// Element `i` of little-endian `bytes` of `dtype`, as a float64 (exact).
    static func value(_ bytes: UnsafeRawBufferPointer, element i: Int, dtype: DType) -> Double {
        switch dtype {
        case .f64: Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
        case .f32: Double(Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))))
        case .f16: Double(Float16(bitPattern: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
        case .bf16: Double(Float(bitPattern: UInt32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16))
        }
    }

    /// Whether finite `value` stays finite converted to `dtype` (as `ElementCoding.encode` converts it).
    static func staysFinite(_ value: Double, in dtype: DType) -> Bool {
        switch dtype {
        case .f64: true
        case .f32: Float(value).isFinite
        case .f16: Float16(value).isFinite
        case .bf16: Float(bitPattern: UInt32(ElementCoding.bfloat16Bits(Float(value))) << 16).isFinite
        }
    }
}
