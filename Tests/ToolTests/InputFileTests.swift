import Foundation
import Testing
import TXWTestSupport
import TXWToolSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The tools' text inputs (`InputFile`): a FIFO is read as a stream, and one
/// no writer opens is refused after `InputFile.writerWait` seconds instead of
/// hanging in open(2); a file over the limit is refused before it is read.
struct InputFileTests {
    static let shape = ["--vocab-size", "4", "--d-model", "4", "--n-head", "1", "--d-head", "4", "--d-mlp", "4", "--n-block", "1"]

    /// Every text input given a FIFO nobody writes to: exit 1 with one line
    /// naming it; the timeout makes a regression (a hang) fail, not hang.
    @Test func aFIFOWithNoWriterAsATextInputIsRefused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let fifo = dir.file("input.txt")
        #expect(mkfifo(fifo, 0o600) == 0)
        try "abcd abcd".write(toFile: dir.file("d.txt"), atomically: true, encoding: .utf8)
        let model = dir.file("m.txw")
        let packed = try tool("txw-pack", ["--random", "-o", model, "--char-vocab", dir.file("d.txt")] + Self.shape.dropFirst(2))
        #expect(packed.status == 0, "\(packed.stderr)")
        let runs: [(String, [String])] = [
            ("txw-train", ["-o", dir.file("o.txw"), "--random"] + Self.shape.dropFirst(2) + ["--data", fifo]),
            ("txw-train", ["-o", dir.file("o.txw"), "--random"] + Self.shape + ["--data", dir.file("d.txt"), "--vocab", fifo]),
            ("txw-run", [model, "--loss", "--text-file", fifo]),
            ("txw-pack", ["--random", "-o", dir.file("o.txw"), "--vocab", fifo] + Self.shape.dropFirst(2)),
            ("txw-pack", ["--random", "-o", dir.file("o.txw"), "--char-vocab", fifo] + Self.shape.dropFirst(2)),
        ]
        for (name, arguments) in runs {
            let r = try tool(name, arguments, timeout: 30)
            #expect(r.status == 1 && r.stderr == "\(name): \(fifo): a FIFO with no writer (nothing opened it for writing within 2 seconds)\n",
                    "\(name) \(arguments): \(r.status) \(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("o.txw")))
    }

    @Test func readsARegularFileWithinItsLimit() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.file("t.txt")
        let content = Array("0123456789\n".utf8)
        try Data(content).write(to: URL(fileURLWithPath: path))
        #expect(try InputFile.read(path) == content)
        #expect(try InputFile.read(path, maxBytes: content.count) == content)
        let empty = dir.file("empty.txt")
        try Data().write(to: URL(fileURLWithPath: empty))
        #expect(try InputFile.read(empty) == [])
        #expect(InputFile.defaultMaxBytes == 1 << 30)

        func message(_ body: () throws -> Any) -> String? {
            do { _ = try body(); return nil } catch { return Diagnostics.message(for: error) }
        }
        #expect(message { try InputFile.read(path, maxBytes: 10) } == "\(path): the file has 11 bytes, more than the 10 an input file may have")
        #expect(message { try InputFile.read(dir.path) } == "\(dir.path): not a regular file (a directory)")
        #expect(message { try InputFile.read(dir.file("missing")) } == "\(dir.file("missing")): cannot open the file (no such file)")
    }

    /// The limit is checked before the file is read: a sparse file far larger
    /// than the limit is refused without reading (or allocating) its size.
    @Test func aFileOverTheLimitIsNotRead() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.file("sparse.txt")
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        #expect(truncate(path, 1 << 40) == 0)  // 1 TiB, sparse: no disk space used
        #expect(throws: ToolFailure.self) { try InputFile.read(path) }
        let r = try tool("txw-train", ["-o", dir.file("o.txw"), "--random"] + Self.shape.dropFirst(2) + ["--data", path], timeout: 30)
        #expect(r.status == 1 && r.stderr == "txw-train: \(path): the file has 1,099,511,627,776 bytes, more than the 1,073,741,824 an input file may have\n",
                "\(r.stderr)")
    }
}
