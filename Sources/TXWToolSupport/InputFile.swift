import SystemPackage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading the tools' input files other than models: `txw-train --data` and
/// `--vocab`, `txw-run --text-file`, `txw-pack --vocab` and `--char-vocab`.
///
/// Such a file is read whole, so `read(_:maxBytes:)` checks it first: it
/// opens without blocking (a FIFO with no writer, or a device waiting for a
/// carrier, would otherwise hang in open(2)), refuses anything but a regular
/// file, and refuses a file larger than `maxBytes` before allocating for it.
/// Every refusal is one line naming the path (`Diagnostics`).
package enum InputFile {
    /// The default size limit of a text input: 1 GiB (2^30 bytes).
    package static let defaultMaxBytes = 1 << 30

    /// The bytes of the regular file at `path`, at most `maxBytes` of them.
    ///
    /// Throws `ToolFailure`: the file cannot be opened (`PATH: cannot open
    /// the file (REASON)`), is not a regular file (`PATH: not a regular file
    /// (a FIFO)`), is larger than `maxBytes`, or cannot be read. A file that
    /// grows while it is read is read up to the size it had when opened.
    /// `checkSize` sees the size of the regular file before anything is
    /// allocated for it and may refuse it too (a memory budget).
    package static func read(
        _ path: String, maxBytes: Int = defaultMaxBytes, checkSize: (Int) throws -> Void = { _ in }
    ) throws -> [UInt8] {
        let fd = try open(path)
        defer { _ = try? fd.close() }
        var info = stat()
        guard fstat(fd.rawValue, &info) == 0 else {
            throw ToolFailure(.inputFile(path: path, problem: .cannotRead(Errno(rawValue: errno))))
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG else {
            throw ToolFailure(.inputFile(path: path, problem: .notRegularFile(kind: kind(of: type))))
        }
        let size = Int(info.st_size)
        guard size <= maxBytes else {
            throw ToolFailure(.inputFile(path: path, problem: .tooLarge(size: size, limit: maxBytes)))
        }
        try checkSize(size)
        var bytes = [UInt8](repeating: 0, count: size)
        var count = 0
        while count < size {
            let n: Int
            do {
                // swift-system retries a read interrupted by a signal.
                n = try bytes.withUnsafeMutableBytes { buffer in
                    try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[count...]))
                }
            } catch let errno as Errno {
                throw ToolFailure(.inputFile(path: path, problem: .cannotRead(errno)))
            }
            guard n > 0 else { break }  // the file shrank: what is there
            count += n
        }
        return count == size ? bytes : Array(bytes[..<count])
    }

    /// `path` opened for reading without blocking: a FIFO with no writer,
    /// or a device waiting for a carrier, opens at once (the caller then
    /// refuses it or reads nothing); a regular file ignores the flag.
    /// Throws `ToolFailure` (`PATH: cannot open the file (REASON)`).
    package static func open(_ path: String) throws -> FileDescriptor {
        do {
            return try FileDescriptor.open(path, .readOnly, options: [.closeOnExec, .nonBlocking])
        } catch let errno as Errno {
            throw ToolFailure(path: path, cannotOpen: errno)
        }
    }

    /// `a FIFO`, `a directory`, … for a file type of `st_mode`.
    static func kind(of type: mode_t) -> String {
        switch type {
        case S_IFIFO: "a FIFO"
        case S_IFDIR: "a directory"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "not a file"
        }
    }

    /// Why an input file was refused (rendered by `Diagnostics`).
    package enum Problem: Sendable {
        /// The file is a FIFO, a directory, a device…: `kind` says which (`a FIFO`).
        case notRegularFile(kind: String)
        /// The file has `size` bytes, more than the `limit`.
        case tooLarge(size: Int, limit: Int)
        /// fstat(2) or read(2) failed with `errno`.
        case cannotRead(Errno)
    }
}
