/// Hexadecimal text for messages and tools, lowercase and zero-padded, in one
/// place: checksums (`0x00c0ffee00c0ffee`), CRCs (`0x1234abcd`), single bytes
/// (`0x0a`) and byte dumps (`89 54 58 57`).
package enum Hex {
    /// `value`'s digits, zero-padded to the width of its type (2 for a byte,
    /// 8 for a `UInt32`, 16 for a `UInt64`).
    package static func digits<T: FixedWidthInteger & UnsignedInteger>(_ value: T) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: T.bitWidth / 4 - digits.count) + digits
    }

    /// `0x` and `value`'s zero-padded digits.
    package static func literal<T: FixedWidthInteger & UnsignedInteger>(_ value: T) -> String {
        "0x" + digits(value)
    }

    /// Each byte as two digits, separated by spaces; empty for no bytes.
    package static func bytes<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        bytes.map(digits).joined(separator: " ")
    }
}
