/// Conversions between numbers and a dtype's little-endian bytes (§1.5).
///
/// Narrowing rounds to nearest, ties to even; float64 → bf16 goes through
/// float32 first, as the spec says; a NaN stays a quiet NaN.
public enum ElementCoding {
    /// The bytes of float64 `values` stored as `dtype` (f16 rounded directly
    /// from float64, bf16 through float32).
    public static func encode(_ values: [Double], as dtype: DType) -> [UInt8] {
        encode(count: values.count, as: dtype,
               f64: { values[$0] }, f32: { Float(values[$0]) }, f16: { Float16(values[$0]) })
    }

    /// The bytes of float32 `values` stored as `dtype`.
    public static func encode(_ values: [Float], as dtype: DType) -> [UInt8] {
        encode(count: values.count, as: dtype,
               f64: { Double(values[$0]) }, f32: { values[$0] }, f16: { Float16(values[$0]) })
    }

    private static func encode(
        count: Int, as dtype: DType,
        f64: (Int) -> Double, f32: (Int) -> Float, f16: (Int) -> Float16
    ) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count * dtype.size)
        out.withUnsafeMutableBytes { dst in
            switch dtype {
            case .f64:
                for i in 0..<count { dst.storeBytes(of: f64(i).bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self) }
            case .f32:
                for i in 0..<count { dst.storeBytes(of: f32(i).bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            case .f16:
                for i in 0..<count { dst.storeBytes(of: f16(i).bitPattern.littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
            case .bf16:
                for i in 0..<count { dst.storeBytes(of: bfloat16Bits(f32(i)).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
            }
        }
        return out
    }

    /// The values of little-endian `bytes` of `dtype`, converted to `T`
    /// (exact when `T` is at least as wide as `dtype`).
    public static func decode<T: BinaryFloatingPoint>(_ bytes: UnsafeRawBufferPointer, as dtype: DType, to: T.Type = T.self) -> [T] {
        let count = bytes.count / dtype.size
        return [T](unsafeUninitializedCapacity: count) { out, initialized in
            switch dtype {
            case .f64:
                for i in 0..<count { out[i] = T(Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            case .f32:
                for i in 0..<count { out[i] = T(Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))) }
            case .f16:
                for i in 0..<count { out[i] = T(Float16(bitPattern: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
            case .bf16:
                for i in 0..<count {
                    let bits = UInt32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16
                    out[i] = T(Float(bitPattern: bits))
                }
            }
            initialized = count
        }
    }

    /// bf16 bits of a float32: the upper half rounded to nearest even on the lower 16 bits.
    package static func bfloat16Bits(_ v: Float) -> UInt16 {
        let bits = v.bitPattern
        if v.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }
}
