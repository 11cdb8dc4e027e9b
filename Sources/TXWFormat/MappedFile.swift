#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TXWThreads

/// A regular file mapped read-only into memory (or a heap copy of bytes,
/// read the same way). Shared by the container reader and the importers. Nothing is read until the
/// pages are touched, so opening a large file costs nothing but the mapping.
///
/// If another process truncates the file while it is mapped, touching the
/// lost pages raises SIGBUS: txw files are written atomically (a new inode
/// is renamed into place), so a txw writer never does that to a reader.
///
/// Sendable: the bytes are never written after `init` and stay mapped (or
/// allocated) until `deinit` (UnsafeShared rule 2).
package final class MappedFile: Sendable {
    /// The file's path, or the name given to `init(copying:name:)`.
    package let path: String
    private let storage: UnsafeShared<UnsafeRawBufferPointer>
    /// The whole file; valid while this object lives.
    package var bytes: UnsafeRawBufferPointer { storage.pointer }
    /// True when `bytes` is a heap copy (`init(copying:)`), false when mapped.
    private let owned: Bool

    /// A heap copy of `data`, read like a file (for in-memory checks and fuzzing).
    package init(copying data: [UInt8], name: String) {
        path = name
        owned = true
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(data.count, 1), alignment: 64)
        data.withUnsafeBytes { buffer.copyMemory(from: $0) }
        storage = UnsafeShared(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<data.count]))
    }

    package init(path: String) throws {
        self.path = path
        owned = false
        // O_NONBLOCK: opening a FIFO nobody writes to (or a device that
        // waits for a carrier) returns at once instead of blocking, so the
        // regular-file check below refuses it; a regular file ignores the flag.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw SystemCall.error(path: path, operation: "open") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SystemCall.error(path: path, operation: "stat") }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw TXWFormatError.notRegularFile(path: path, operation: "open", isDirectory: (info.st_mode & S_IFMT) == S_IFDIR)
        }
        let size = Int(info.st_size)
        guard size > 0 else {
            storage = UnsafeShared(UnsafeRawBufferPointer(start: nil, count: 0))
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw SystemCall.error(path: path, operation: "mmap")
        }
        storage = UnsafeShared(UnsafeRawBufferPointer(start: base, count: size))
    }

    /// Tells the kernel the mapped pages wholly inside `range` are not needed
    /// for now (they are read again from the page cache if touched), so a
    /// reader that has decoded a block does not keep its compressed pages
    /// resident. Does nothing for a heap copy.
    func release(_ range: Range<Int>) {
        guard !owned, let base = bytes.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return }
        let start = (range.lowerBound + page - 1) / page * page
        let end = range.upperBound / page * page
        guard start < end else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    deinit {
        guard let base = bytes.baseAddress else { return }
        if owned {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        } else {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }
}
