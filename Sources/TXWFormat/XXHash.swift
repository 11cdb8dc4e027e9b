import CXXHash

/// Every call into libxxhash, in one place.
enum XXHash {
    /// XXH3-64 with seed 0, the checksum of Spec/txw-format.md.
    static func xxh3(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        XXH3_64bits(bytes.baseAddress, bytes.count)
    }

    static func xxh3(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { xxh3($0) }
    }
}
