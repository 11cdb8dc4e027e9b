/// One member of a zip archive as its central directory record describes it,
/// with every size and offset already checked against the file.
struct ZipEntry {
    /// The member's name (valid UTF-8).
    let name: String
    /// File offset and length of the name in the central directory (compared
    /// with the local header's copy).
    let nameOffset: Int
    let nameLength: Int
    /// 0 stored, 8 deflate.
    let method: UInt16
    let crc: UInt32
    let compressedSize: Int
    let uncompressedSize: Int
    /// File offset of the member's local header.
    let localHeaderOffset: Int
    /// File offset of the member's central directory record, for errors.
    let recordOffset: Int

    /// How errors name the member.
    var what: String { "npz member '\(name)'" }
}
