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
/// finally the directory is fsynced. On any failure the temporary file is
/// removed and the destination is untouched. Temporary files left by a
/// writer that was killed are removed by the next write to the same path.
package enum AtomicFile {
    package static func write(_ bytes: [UInt8], to path: String, overwrite: Bool) throws {
        let (directory, name) = split(path)
        var existing = stat()
        let exists = lstat(path, &existing) == 0
        if exists && !overwrite { throw TXWFormatError.destinationExists(path: path) }
        if exists && (existing.st_mode & S_IFMT) == S_IFDIR {
            throw TXWFormatError.notRegularFile(path: path, operation: "write", isDirectory: true)
        }
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
            if exists { _ = fchmod(fd.rawValue, existing.st_mode & 0o7777) }
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
