import SystemPackage
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
/// finally the directory is fsynced. An existing destination that is not a
/// regular file or a symbolic link (a directory, FIFO, device, socket) is
/// refused even with `overwrite`. A symbolic link is replaced itself by the
/// new regular file; its target is never written. The new file's mode is
/// 0644 minus the umask, narrowed to the replaced regular file's mode. On any failure the temporary file is
/// removed and the destination is untouched. Temporary files left by a
/// writer that was killed are removed by the next write to the same path.
package enum AtomicFile {
    package static func write(_ bytes: [UInt8], to path: String, overwrite: Bool) throws {
        let (directory, name) = split(path)
        var existing = stat()
        let exists = try checkDestination(path, overwrite: overwrite, existing: &existing)
        let kind = existing.st_mode & S_IFMT
        removeStaleTemporaries(directory: directory, name: name)
        let temporary = "\(directory)/.\(name).txw-tmp.\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        let fd = try SystemCall.run(path: path, operation: "create a temporary file in \(directory)") {
            try FileDescriptor.open(
                temporary, .writeOnly, options: [.create, .exclusiveCreate, .closeOnExec],
                permissions: FilePermissions(rawValue: 0o644))
        }
        var committed = false
        defer { if !committed { unlink(temporary) } }
        do {
            defer { _ = try? fd.close() }
            // The new file has 0644 minus the umask (open's `permissions`).
            // Replacing a regular file keeps only the bits both allow, so
            // permissions never widen; a symbolic link's own mode (0777) is
            // not a file's and is ignored.
            var created = stat()
            if exists && kind == S_IFREG && fstat(fd.rawValue, &created) == 0 {
                let creation = created.st_mode & 0o777
                let narrowed = creation & existing.st_mode
                if narrowed != creation { _ = fchmod(fd.rawValue, narrowed) }
            }
            try SystemCall.run(path: path, operation: "write") { try fd.writeAll(bytes) }
            guard fsync(fd.rawValue) == 0 else { throw SystemCall.error(path: path, operation: "fsync") }
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
        if let directoryFD = try? FileDescriptor.open(directory, .readOnly, options: [.directory, .closeOnExec]) {
            _ = fsync(directoryFD.rawValue)
            _ = try? directoryFD.close()
        }
    }

    /// Checks, before any work, that `write(_:to:overwrite:)` may write
    /// `path`: an existing destination must be a regular file or a symbolic
    /// link (`TXWFormatError.notRegularFile` otherwise, even with
    /// `overwrite`), and is refused without `overwrite`
    /// (`TXWFormatError.destinationExists`). The write checks again.
    package static func checkDestination(_ path: String, overwrite: Bool) throws {
        var existing = stat()
        _ = try checkDestination(path, overwrite: overwrite, existing: &existing)
    }

    /// `checkDestination(_:overwrite:)`, returning whether `path` exists (its `lstat` in `existing`).
    static func checkDestination(_ path: String, overwrite: Bool, existing: inout stat) throws -> Bool {
        guard lstat(path, &existing) == 0 else { return false }
        let kind = existing.st_mode & S_IFMT
        // Only a regular file or a symbolic link is ever replaced: a
        // directory, FIFO, device node or socket is refused, even with
        // `overwrite`, before anything is written.
        if kind != S_IFREG && kind != S_IFLNK {
            throw TXWFormatError.notRegularFile(path: path, operation: "write", isDirectory: kind == S_IFDIR)
        }
        // A link to something that is not a regular file (/dev/stdout, a
        // link to a FIFO or a device) is refused too: replacing the link
        // would not write where it points, and /dev/stdout is shared.
        // A dangling link, or one to a regular file, is replaced.
        var target = stat()
        if kind == S_IFLNK, stat(path, &target) == 0, target.st_mode & S_IFMT != S_IFREG {
            throw TXWFormatError.notRegularFile(path: path, operation: "write", isDirectory: target.st_mode & S_IFMT == S_IFDIR)
        }
        if !overwrite { throw TXWFormatError.destinationExists(path: path) }
        return true
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

