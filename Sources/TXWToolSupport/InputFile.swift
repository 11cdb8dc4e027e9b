import ArgumentParser
import SystemPackage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading the tools' input files other than models: `txw-train --data` and
/// `--vocab`, `txw-run --text-file` and `--prompt-file`, `txw-pack --vocab`
/// and `--char-vocab` — and the bytes of a model given as a stream
/// (`ModelInput`).
///
/// Such a file is read whole, so `read(_:maxBytes:checkSize:)` checks it
/// first: it opens without blocking (a FIFO with no writer, or a device
/// waiting for a carrier, would otherwise hang in open(2)), and refuses a
/// regular file larger than `maxBytes` before allocating for it. `-` is
/// standard input, and a FIFO or a character device (a pipe, `/dev/stdin`)
/// is read as a stream: in chunks, refused as soon as it grows past
/// `maxBytes` or `checkSize` refuses it — never read unbounded. A FIFO that
/// no writer opens within `writerWait` seconds is refused, never waited on
/// forever. Directories, block devices and sockets are refused. Every
/// refusal is one line naming the path (`Diagnostics`).
package enum InputFile {
    /// The default size limit of a text input: 1 GiB (2^30 bytes).
    package static let defaultMaxBytes = 1 << 30

    /// Seconds a FIFO given as a path may stay without a writer before it is
    /// refused (a writer started just before or after the tool gets time to open it).
    package static let writerWait = 2

    /// Bytes read from a stream at a time.
    static let chunkSize = 1 << 16

    /// True for `-`, standard input.
    package static func isStandardInput(_ path: String) -> Bool { path == "-" }

    /// The input `path` as messages name it: `standard input` for `-`, the path otherwise.
    package static func name(_ path: String) -> String { isStandardInput(path) ? "standard input" : path }

    /// Refuses (usage error) a command in which more than one input is `-`:
    /// standard input can be read once. `inputs` are (what, value) pairs,
    /// e.g. ("--data", data); nil values are inputs not given.
    package static func checkOneStandardInput(_ inputs: [(String, String?)]) throws {
        let dashes = inputs.filter { $0.1.map(isStandardInput) ?? false }.map(\.0)
        guard dashes.count <= 1 else {
            throw ValidationError("only one input can be standard input ('-'), not \(dashes.joined(separator: " and "))")
        }
    }

    /// True when `path` is read as a stream: `-`, or a FIFO or a character
    /// device (stat(2), which does not open it). False for anything else,
    /// including a path that does not exist (opening it then says why).
    package static func isStream(_ path: String) -> Bool {
        if isStandardInput(path) { return true }
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        let type = info.st_mode & S_IFMT
        return type == S_IFIFO || type == S_IFCHR
    }

    /// The bytes of the input `path`, at most `maxBytes` of them: a regular
    /// file, or a stream (`-`, a FIFO, a character device).
    ///
    /// Throws `ToolFailure`: the file cannot be opened (`PATH: cannot open
    /// the file (REASON)`), is neither a regular file nor a stream (`PATH:
    /// not a regular file (a directory)`), is larger than `maxBytes`, is a
    /// FIFO that no writer opens within `writerWait` seconds, or cannot be
    /// read. A regular file that grows while it is read is read up to the
    /// size it had when opened. `checkSize` sees the size of a regular file
    /// before anything is allocated for it, and the size a stream will have
    /// after each chunk before the chunk is read, and may refuse it too (a
    /// memory budget). Standard input as a stream is read from where it
    /// stands, whatever it is (a terminal too: reading ends at end of file).
    package static func read(
        _ path: String, maxBytes: Int = defaultMaxBytes, checkSize: (Int) throws -> Void = { _ in }
    ) throws -> [UInt8] {
        if isStandardInput(path) {
            return try readStream(.standardInput, name: name(path), maxBytes: maxBytes, checkSize: checkSize, isFIFO: false)
        }
        let fd = try open(path)
        defer { _ = try? fd.close() }
        var info = stat()
        guard fstat(fd.rawValue, &info) == 0 else {
            throw ToolFailure(.inputFile(path: path, problem: .cannotRead(Errno(rawValue: errno))))
        }
        let type = info.st_mode & S_IFMT
        if type == S_IFIFO || type == S_IFCHR {
            return try readStream(fd, name: path, maxBytes: maxBytes, checkSize: checkSize, isFIFO: type == S_IFIFO)
        }
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

    /// The bytes of the stream `fd` up to its end of file, read in chunks of
    /// `chunkSize` bytes: refused once they would pass `maxBytes`
    /// (`.streamTooLarge`) or `checkSize` refuses the size they would reach.
    /// A read that would block (a descriptor opened without blocking) waits
    /// in poll(2) for data or the end. `isFIFO`: a FIFO opened without
    /// blocking reads end of file while it has no writer; if that happens
    /// before any byte, a writer is waited for `writerWait` seconds, then the
    /// FIFO is refused (`.noWriter`).
    static func readStream(
        _ fd: FileDescriptor, name: String, maxBytes: Int, checkSize: (Int) throws -> Void, isFIFO: Bool
    ) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        var waitedForWriter = !isFIFO
        while true {
            let n: Int
            do {
                n = try chunk.withUnsafeMutableBytes { try fd.read(into: $0) }
            } catch let errno as Errno where errno == .wouldBlock || errno == .resourceTemporarilyUnavailable {
                try wait(fd, name: name, timeout: -1)
                continue
            } catch let errno as Errno {
                throw ToolFailure(.inputFile(path: name, problem: .cannotRead(errno)))
            }
            if n == 0 {
                guard bytes.isEmpty, !waitedForWriter else { return bytes }
                waitedForWriter = true
                guard try wait(fd, name: name, timeout: writerWait * 1000) else {
                    throw ToolFailure(.inputFile(path: name, problem: .noWriter(seconds: writerWait)))
                }
                continue
            }
            waitedForWriter = true  // a writer was there
            let size = bytes.count + n
            guard size <= maxBytes else {
                throw ToolFailure(.inputFile(path: name, problem: .streamTooLarge(limit: maxBytes)))
            }
            try checkSize(size)
            bytes.append(contentsOf: chunk[..<n])
        }
    }

    /// Waits in poll(2) until `fd` has data or its end (true), or `timeout`
    /// milliseconds pass (false; -1 waits for as long as it takes).
    @discardableResult
    static func wait(_ fd: FileDescriptor, name: String, timeout: Int) throws -> Bool {
        var entry = pollfd(fd: fd.rawValue, events: Int16(POLLIN), revents: 0)
        while true {
            let r = poll(&entry, 1, Int32(timeout))
            if r >= 0 { return r > 0 }
            guard errno == EINTR else {
                throw ToolFailure(.inputFile(path: name, problem: .cannotRead(Errno(rawValue: errno))))
            }
        }
    }

    /// `path` opened for reading without blocking: a FIFO with no writer,
    /// or a device waiting for a carrier, opens at once (the caller then
    /// reads it as a stream or refuses it); a regular file ignores the flag.
    /// Throws `ToolFailure` (`PATH: cannot open the file (REASON)`).
    package static func open(_ path: String) throws -> FileDescriptor {
        do {
            return try FileDescriptor.open(path, .readOnly, options: [.closeOnExec, .nonBlocking])
        } catch let errno as Errno {
            throw ToolFailure(path: path, cannotOpen: errno)
        }
    }

    /// Up to the first `count` bytes of the file at `path` (opened without
    /// blocking): fewer when it is shorter or cannot be read (a directory
    /// opens but does not read). Throws when it cannot be opened.
    package static func head(_ path: String, count: Int) throws -> [UInt8] {
        let fd = try open(path)
        defer { _ = try? fd.close() }
        var head = [UInt8](repeating: 0, count: count)
        var filled = 0
        // swift-system resumes an interrupted read; a failed one ends the head.
        while filled < head.count {
            let n = (try? head.withUnsafeMutableBytes { buffer in
                try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            }) ?? 0
            guard n > 0 else { break }
            filled += n
        }
        return Array(head[..<filled])
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
        /// The file is a directory, a block device, a socket…: `kind` says which (`a directory`).
        case notRegularFile(kind: String)
        /// The file has `size` bytes, more than the `limit`.
        case tooLarge(size: Int, limit: Int)
        /// A stream grew past `limit` bytes (it is not read further).
        case streamTooLarge(limit: Int)
        /// A FIFO that no writer opened within `seconds` seconds.
        case noWriter(seconds: Int)
        /// fstat(2) or read(2) failed with `errno`.
        case cannotRead(Errno)
    }
}
