/// The normative limits of Spec/txw-format.md §1.6 that a writer's input
/// must respect (a reader rejects a file beyond them), and the writer's
/// defaults. The byte-layout constants of §1.2 are this package's own.
public enum FormatLimits {
    /// The file's first 8 bytes.
    package static let magic: [UInt8] = [0x89, 0x54, 0x58, 0x57, 0x0D, 0x0A, 0x1A, 0x0A]
    /// The major version written, and the only one read.
    package static let majorVersion: UInt16 = 1
    /// The highest minor version this implementation knows (§1.8): 1.1 adds
    /// the model profile's `model.context_length`. A writer writes the lowest
    /// minor version its file needs (`TXWWriter.minorVersion`), 0 by default.
    package static let minorVersion: UInt16 = 1
    /// The header's size in bytes.
    package static let headerSize = 64
    /// The alignment of the manifest and of every block, in bytes.
    package static let alignment = 64
    /// The largest manifest, in bytes.
    package static let maxManifestLength = 1 << 28
    /// The most metadata entries in a file.
    public static let maxMetadataEntries = 65536
    /// The most tensors in a file.
    public static let maxTensors = 65536
    /// The longest tensor name or metadata key, in UTF-8 bytes.
    public static let maxNameLength = 255
    /// The longest metadata string, in UTF-8 bytes.
    public static let maxStringLength = 1 << 24
    /// The most strings in a `.strings` metadata value.
    public static let maxStringsInList = 1 << 24
    /// The highest tensor rank.
    public static let maxRank = 8
    /// The largest tensor dimension.
    public static let maxDimension: UInt64 = 1 << 40
    /// The most elements in one tensor.
    public static let maxElements: UInt64 = 1 << 40
    /// The smallest block size, in bytes.
    public static let minBlockSize = 64
    /// The largest block size, in bytes.
    public static let maxBlockSize = 1 << 26
    /// The writer's default block size, in bytes (1 MiB).
    public static let defaultBlockSize = 1 << 20
    /// The writer's default zstd compression level.
    public static let defaultLevel = 3

    /// The largest stored length a zstd block of `rawLength` bytes may have.
    package static func maxZstdStoredLength(rawLength: Int) -> Int {
        rawLength + rawLength / 256 + (1 << 17)
    }

    /// The most a zstd block may expand: the densest zstd encoding, an RLE
    /// block, stores 128 KiB in 4 bytes. It bounds what a reader allocates by
    /// the file's size (§1.4).
    package static let maxZstdExpansion = 32768

    /// The smallest stored length a zstd block of `rawLength` bytes may have.
    package static func minZstdStoredLength(rawLength: Int) -> Int {
        max(1, (rawLength + maxZstdExpansion - 1) / maxZstdExpansion)
    }

    /// `align64(x)`, or nil on overflow.
    static func align(_ x: Int) -> Int? {
        let (sum, overflow) = x.addingReportingOverflow(alignment - 1)
        return overflow ? nil : sum & ~(alignment - 1)
    }
}
