import CZlib

/// The zip CRC-32 (zlib's `crc32`), fed in chunks that fit zlib's 32-bit lengths.
enum CRC32 {
    static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard var base = bytes.baseAddress?.assumingMemoryBound(to: Bytef.self) else { return crc }
        var value = uLong(crc)
        var left = bytes.count
        while left > 0 {
            let chunk = min(left, 1 << 30)
            value = crc32(value, base, uInt(chunk))
            base += chunk
            left -= chunk
        }
        return UInt32(truncatingIfNeeded: value)
    }
}
