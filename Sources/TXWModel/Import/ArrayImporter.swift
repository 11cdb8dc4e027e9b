import TXWFormat

/// Reads arrays from numpy `.npz` archives and `.safetensors` files, safely:
/// every size, offset and value from the file is validated before use, and a
/// damaged or hostile file gives an `ImportError` naming what is wrong and
/// where, never a crash, an unbounded allocation, or a read outside the file.
///
/// Allocations are bounded by the file size, or (for a deflated npz member)
/// by the uncompressed size its central directory declares, which must be
/// within deflate's 1032:1 ratio of the compressed size and equal to the size
/// the member's `.npy` header implies; inflating stops there.
///
/// The file is mapped read-only while it is read; the arrays returned are copies.
public enum ArrayImporter {
    /// The arrays of the `.npz` archive at `path` (from `np.savez` or
    /// `np.savez_compressed`), in archive order. Members must be `.npy` files
    /// of float16, float32 or float64 (either byte order, C or Fortran order),
    /// stored or deflated, with distinct UTF-8 names ending in `.npy`, and
    /// matching the central directory's CRC-32 and sizes.
    public static func readNPZ(path: String) throws -> [ImportedArray] {
        let file = try ImportFile.open(path: path)
        return try withExtendedLifetime(file) { try NPZReader.read(ImportBytes(file.bytes)) }
    }

    /// The tensors of the `.safetensors` file at `path` (dtypes F16, BF16,
    /// F32, F64), in data-offset order. The tensors' data must cover the data
    /// section exactly: no overlap, no hole, nothing after the last tensor.
    public static func readSafetensors(path: String) throws -> [ImportedArray] {
        let file = try ImportFile.open(path: path)
        return try withExtendedLifetime(file) { try SafetensorsReader.read(ImportBytes(file.bytes)) }
    }

    /// The arrays of the file at `path`, whichever of the two formats it is,
    /// judged by content: the zip magic `PK\x03\x04` (or `PK\x05\x06`, an
    /// empty archive) means npz; a little-endian u64 in 2 … 100 000 000
    /// followed by `{` means safetensors; anything else is
    /// `ImportError.unrecognizedFormat`. The arrays' need is checked against
    /// `MemoryBudget.systemDefault` (`read(path:memoryBudget:)`).
    public static func read(path: String) throws -> [ImportedArray] {
        try read(path: path, memoryBudget: .systemDefault)
    }

    /// `read(path:)`, refusing with `TXWFormatError.overMemoryBudget`, before
    /// any array is copied or inflated, a file whose arrays need more than
    /// `memoryBudget`: the data section of a safetensors file, the declared
    /// uncompressed sizes of an npz's members (plus the largest once more,
    /// for a Fortran-order copy).
    public static func read(path: String, memoryBudget: MemoryBudget) throws -> [ImportedArray] {
        let file = try ImportFile.open(path: path)
        return try withExtendedLifetime(file) { try read(ImportBytes(file.bytes), name: path, budget: memoryBudget) }
    }

    /// Like `read(path:memoryBudget:)`, with the file's string metadata: a
    /// safetensors file's `__metadata__`, an npz's metadata member
    /// (`ExchangeMetadata`).
    public static func readFile(path: String, memoryBudget: MemoryBudget) throws -> ImportedFile {
        let file = try ImportFile.open(path: path)
        return try withExtendedLifetime(file) { try readFile(ImportBytes(file.bytes), name: path, budget: memoryBudget) }
    }

    /// `readFile(path:memoryBudget:)` and the SHA-256 of the file's bytes:
    /// the bytes it imported, from the same mapping (`txw-pack`'s
    /// `lineage.source_sha256`, Spec/txw-format.md §2.1).
    public static func readFileWithDigest(path: String, memoryBudget: MemoryBudget) throws -> (file: ImportedFile, sha256: ContentDigest) {
        let file = try ImportFile.open(path: path)
        return try withExtendedLifetime(file) {
            let imported = try readFile(ImportBytes(file.bytes), name: path, budget: memoryBudget)
            return (imported, ContentDigest.sha256(file.bytes))
        }
    }

    /// Like `readFile(path:memoryBudget:)`, for bytes in memory (`name` stands for the path in messages).
    public static func readFile(bytes: [UInt8], name: String = "<memory>", memoryBudget: MemoryBudget = .systemDefault) throws -> ImportedFile {
        let file = ImportFile.copying(bytes, name: name)
        return try withExtendedLifetime(file) { try readFile(ImportBytes(file.bytes), name: name, budget: memoryBudget) }
    }

    // MARK: - In memory (tests, fuzzing)

    static func readNPZ(bytes: [UInt8]) throws -> [ImportedArray] {
        let file = ImportFile.copying(bytes, name: "<memory>")
        return try withExtendedLifetime(file) { try NPZReader.read(ImportBytes(file.bytes)) }
    }

    static func readSafetensors(bytes: [UInt8]) throws -> [ImportedArray] {
        let file = ImportFile.copying(bytes, name: "<memory>")
        return try withExtendedLifetime(file) { try SafetensorsReader.read(ImportBytes(file.bytes)) }
    }

    /// Like `read(path:memoryBudget:)`, for bytes in memory (`name` stands for the path in messages).
    public static func read(bytes: [UInt8], name: String = "<memory>", memoryBudget: MemoryBudget = .systemDefault) throws -> [ImportedArray] {
        let file = ImportFile.copying(bytes, name: name)
        return try withExtendedLifetime(file) { try read(ImportBytes(file.bytes), name: name, budget: memoryBudget) }
    }

    /// The content sniffing of `read(path:)`.
    static func read(_ file: ImportBytes, name: String, budget: MemoryBudget) throws -> [ImportedArray] {
        try readFile(file, name: name, budget: budget).arrays
    }

    /// The content sniffing of `readFile(path:memoryBudget:)`.
    static func readFile(_ file: ImportBytes, name: String, budget: MemoryBudget) throws -> ImportedFile {
        if file.matches(ZipArchive.localSignature, at: 0) || file.matches(ZipArchive.endSignature, at: 0) {
            return try NPZReader.readFile(file, budget: budget)
        }
        if let length = try? file.getInteger(at: 0, as: UInt64.self, ""), length >= 2, length <= SafetensorsReader.maxHeaderLength,
           file.matches([UInt8(ascii: "{")], at: 8) {
            return try SafetensorsReader.readFile(file, budget: budget)
        }
        throw ImportError.unrecognizedFormat(path: name, found: Array(file.bytes.prefix(16)))
    }
}
