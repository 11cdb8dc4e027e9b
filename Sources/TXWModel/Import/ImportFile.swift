#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A regular file mapped read-only for an importer (or a heap copy of bytes,
/// for in-memory checks). The importers read it only through bounds-checked
/// `ImportBytes` views, and copy out what they return.
///
/// If another process truncates the file while it is mapped, touching the
/// lost pages raises SIGBUS; the importer holds the mapping only while it reads.
final class ImportFile: @unchecked Sendable {
    let path: String
    let bytes: UnsafeRawBufferPointer
    /// True when `bytes` is a heap copy, false when mapped.
    private let owned: Bool

    /// A heap copy of `data`, read like a file named `name`.
    init(copying data: [UInt8], name: String) {
        path = name
        owned = true
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(data.count, 1), alignment: 16)
        data.withUnsafeBytes { buffer.copyMemory(from: $0) }
        bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<data.count])
    }

    init(path: String) throws {
        self.path = path
        owned = false
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.error(path, "open") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Self.error(path, "stat") }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            let kind = (info.st_mode & S_IFMT) == S_IFDIR ? "a directory" : "not a regular file"
            throw ImportError.io(path: path, operation: "open", message: "is \(kind)")
        }
        guard let size = Int(exactly: info.st_size), size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw Self.error(path, "mmap")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        guard let base = bytes.baseAddress else { return }
        if owned {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        } else {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }

    private static func error(_ path: String, _ operation: String) -> ImportError {
        .io(path: path, operation: operation, message: String(cString: strerror(errno)))
    }
}
