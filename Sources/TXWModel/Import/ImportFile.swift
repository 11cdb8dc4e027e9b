import TXWFormat

/// How the importers open files: TXWFormat's `MappedFile` (read-only mmap,
/// or a heap copy for in-memory checks), with its I/O errors as `ImportError`.
/// The importers read it only through bounds-checked `ImportBytes` views and
/// copy out what they return.
enum ImportFile {
    static func open(path: String) throws -> MappedFile {
        do {
            return try MappedFile(path: path)
        } catch let TXWFormatError.io(path, operation, errno) {
            throw ImportError.io(path: path, operation: operation, errno: errno)
        } catch let TXWFormatError.notRegularFile(path, operation, isDirectory) {
            throw ImportError.notRegularFile(path: path, operation: operation, isDirectory: isDirectory)
        }
    }

    static func copying(_ bytes: [UInt8], name: String) -> MappedFile {
        MappedFile(copying: bytes, name: name)
    }
}
