import TXWFormat

/// How the importers open files: TXWFormat's `MappedFile` (read-only mmap,
/// or a heap copy for in-memory checks), with its I/O errors as `ImportError`.
/// The importers read it only through bounds-checked `ImportBytes` views and
/// copy out what they return.
enum ImportFile {
    static func open(path: String) throws -> MappedFile {
        do {
            return try MappedFile(path: path)
        } catch let TXWFormatError.io(path, operation, message) {
            throw ImportError.io(path: path, operation: operation, message: message)
        }
    }

    static func copying(_ bytes: [UInt8], name: String) -> MappedFile {
        MappedFile(copying: bytes, name: name)
    }
}
