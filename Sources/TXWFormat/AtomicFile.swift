#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Atomic replacement of a file (Spec/txw-format.md §1.7).
///
/// The bytes go to `.NAME.txw-tmp.PID.RANDOM` beside the destination, are
/// fsynced, then renamed over it (`overwrite`) or hard-linked to it (which
/// fails if it exists, so an existing file is never replaced by accident);
/// finally the directory is fsynced. On any failure the temporary file is
/// removed and the destination is untouched. Temporary files left by a
/// writer that was killed are removed by the next write to the same path.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String, overwrite: Bool) throws {
        let (directory, name) = split(path)
        var existing = stat()
        let exists = lstat(path, &existing) == 0
        if exists && !overwrite { throw TXWFormatError.destinationExists(path: path) }
        if exists && (existing.st_mode & S_IFMT) == S_IFDIR {
            throw TXWFormatError.io(path: path, operation: "write", message: "is a directory")
        }
        removeStaleTemporaries(directory: directory, name: name)
        let temporary = "\(directory)/.\(name).txw-tmp.\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemCall.error(path: path, operation: "create a temporary file in \(directory)") }
        var committed = false
        defer { if !committed { unlink(temporary) } }
        do {
            defer { close(fd) }
            if exists { _ = fchmod(fd, existing.st_mode & 0o7777) }
            try bytes.withUnsafeBytes { buffer in
                var written = 0
                while written < buffer.count {
                    let n = Glibc.write(fd, buffer.baseAddress! + written, buffer.count - written)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw SystemCall.error(path: path, operation: "write")
                    }
                    written += n
                }
            }
            guard fsync(fd) == 0 else { throw SystemCall.error(path: path, operation: "fsync") }
        }
        if overwrite {
            guard rename(temporary, path) == 0 else { throw SystemCall.error(path: path, operation: "rename") }
        } else {
            guard link(temporary, path) == 0 else {
                if errno == EEXIST { throw TXWFormatError.destinationExists(path: path) }
                throw SystemCall.error(path: path, operation: "link")
            }
            unlink(temporary)
        }
        committed = true
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }

    /// The directory (`.` for a bare name) and the last component of `path`.
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    /// Removes `.NAME.txw-tmp.PID.*` files whose writer process no longer exists.
    static func removeStaleTemporaries(directory: String, name: String) {
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        let prefix = ".\(name).txw-tmp."
        while let entry = readdir(dir) {
            let entryName = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard entryName.hasPrefix(prefix) else { continue }
            let rest = entryName.dropFirst(prefix.count)
            guard let dot = rest.firstIndex(of: "."), let pid = Int32(rest[..<dot]) else { continue }
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH {
                unlink("\(directory)/\(entryName)")
            }
        }
    }
}
