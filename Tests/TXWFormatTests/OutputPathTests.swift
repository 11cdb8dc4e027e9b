import Foundation
import Testing
import TXWTestSupport
@testable import TXWFormat
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// §1.7: only a regular file or a symbolic link is replaced, and a
/// replacement never widens permissions.
struct OutputPathTests {
    static func writer() throws -> TXWWriter {
        var w = try TXWWriter()
        try w.addTensor(name: "a", dtype: .f64, shape: [2], bytes: ElementCoding.encode([1.0, 2.0], as: .f64))
        return w
    }

    static func mode(_ path: String, followingLinks: Bool = false) -> mode_t {
        var info = stat()
        _ = followingLinks ? stat(path, &info) : lstat(path, &info)
        return info.st_mode
    }

    @Test func aFIFOOrADirectoryIsRefusedEvenWithOverwrite() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let fifo = dir.file("pipe.txw")
        #expect(mkfifo(fifo, 0o600) == 0)
        for overwrite in [false, true] {
            #expect(throws: TXWFormatError.notRegularFile(path: fifo, operation: "write", isDirectory: false)) {
                try Self.writer().write(to: fifo, overwrite: overwrite)
            }
        }
        #expect(Self.mode(fifo) & S_IFMT == S_IFIFO, "the FIFO is left in place")
        let sub = dir.file("sub")
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: false)
        #expect(throws: TXWFormatError.notRegularFile(path: sub, operation: "write", isDirectory: true)) {
            try Self.writer().write(to: sub, overwrite: true)
        }
        #expect(TXWFormatError.notRegularFile(path: fifo, operation: "write", isDirectory: false).description
                == "\(fifo): write failed: is not a regular file")
        #expect(Set(dir.contents()) == ["pipe.txw", "sub"], "no temporary file left")
    }

    /// A character device made in the test's own directory (never a real
    /// one in /dev: a regression would replace it); needs the privilege to
    /// call mknod(2), so the test runs only where that works.
    static func deviceNode(in dir: TemporaryDirectory) -> String? {
        let path = dir.file("device.txw")
        #if os(Linux)
        let null: dev_t = (1 << 8) | 3  // makedev(1, 3), the null device
        #else
        let null: dev_t = (3 << 24) | 2  // makedev(3, 2)
        #endif
        return mknod(path, S_IFCHR | 0o600, null) == 0 ? path : nil
    }

    @Test func aDeviceNodeIsRefusedEvenWithOverwrite() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        guard let device = Self.deviceNode(in: dir) else { return }  // no privilege to make one
        #expect(throws: TXWFormatError.notRegularFile(path: device, operation: "write", isDirectory: false)) {
            try Self.writer().write(to: device, overwrite: true)
        }
        #expect(Self.mode(device) & S_IFMT == S_IFCHR, "the device node is left in place")
        #expect(dir.contents() == ["device.txw"], "no temporary file")
    }

    @Test func aSymbolicLinkIsReplacedByARegularFileAndItsTargetIsUntouched() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let target = dir.file("target.txt"), link = dir.file("link.txw")
        try Data("keep".utf8).write(to: URL(fileURLWithPath: target))
        #expect(chmod(target, 0o600) == 0)
        #expect(symlink(target, link) == 0)
        #expect(throws: TXWFormatError.destinationExists(path: link)) { try Self.writer().write(to: link) }
        try Self.writer().write(to: link, overwrite: true)
        #expect(Self.mode(link) & S_IFMT == S_IFREG, "the link itself is replaced")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep")
        // Not the link's 0777: 0644 minus the umask.
        let mask = umask(0o022)
        umask(mask)
        #expect(Self.mode(link) & 0o7777 == 0o644 & ~mask)
        #expect(try TXWReader(path: link).tensors.count == 1)
    }

    @Test func replacingAFileNeverWidensItsPermissions() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let mask = umask(0o022)
        umask(mask)
        let creation = 0o644 & ~mask
        for (before, after) in [(mode_t(0o600), 0o600 & creation), (0o777, creation), (0o4755, 0o644 & creation), (0o640, 0o640 & creation)] {
            let path = dir.file("m\(before).txw")
            try Self.writer().write(to: path)
            #expect(Self.mode(path) & 0o7777 == creation, "a new file: 0644 minus the umask")
            #expect(chmod(path, before) == 0)
            try Self.writer().write(to: path, overwrite: true)
            #expect(Self.mode(path) & 0o7777 == after, "replacing a \(String(before, radix: 8)) file")
        }
    }
}
