/// The normative limits and constants of Spec/txw-format.md §1.2 and §1.6.
public enum FormatLimits {
    public static let magic: [UInt8] = [0x89, 0x54, 0x58, 0x57, 0x0D, 0x0A, 0x1A, 0x0A]
    public static let majorVersion: UInt16 = 1
    public static let minorVersion: UInt16 = 0
    public static let headerSize = 64
    public static let alignment = 64
    public static let maxManifestLength = 1 << 28
    public static let maxMetadataEntries = 65536
    public static let maxTensors = 65536
    public static let maxNameLength = 255
    public static let maxStringLength = 1 << 24
    public static let maxStringsInList = 1 << 24
    public static let maxRank = 8
    public static let maxDimension: UInt64 = 1 << 40
    public static let maxElements: UInt64 = 1 << 40
    public static let minBlockSize = 64
    public static let maxBlockSize = 1 << 26
    public static let defaultBlockSize = 1 << 20
    public static let defaultLevel = 3

    /// The largest stored length a zstd block of `rawLength` bytes may have.
    public static func maxZstdStoredLength(rawLength: Int) -> Int {
        rawLength + rawLength / 256 + (1 << 17)
    }

    /// The most a zstd block may expand: the densest zstd encoding, an RLE
    /// block, stores 128 KiB in 4 bytes. It bounds what a reader allocates by
    /// the file's size (§1.4).
    public static let maxZstdExpansion = 32768

    /// The smallest stored length a zstd block of `rawLength` bytes may have.
    public static func minZstdStoredLength(rawLength: Int) -> Int {
        max(1, (rawLength + maxZstdExpansion - 1) / maxZstdExpansion)
    }

    /// `align64(x)`, or nil on overflow.
    static func align(_ x: Int) -> Int? {
        let (sum, overflow) = x.addingReportingOverflow(alignment - 1)
        return overflow ? nil : sum & ~(alignment - 1)
    }
}
