import Foundation
import Testing
import TXWFormat
import TXWTestSupport
import TXWToolSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Issue 12, classes 1, 8, 9 and 11: statistics of extreme values, --force
/// onto what is not a regular file, results that cannot be written, and a
/// FIFO given as the model.
struct HostileOutputTests {
    static let golden = repositoryRoot.appendingPathComponent("samples/golden.txw").path
    static let packShape = ["--random", "--vocab-size", "8", "--d-model", "4", "--n-head", "1", "--d-head", "4",
                            "--d-mlp", "4", "--n-block", "1"]

    /// One tensor per extreme: f64 ±1e308 (max − min overflows), the f64
    /// limits with ±∞ and NaN, all equal, and the f16 and bf16 limits.
    static func extremes(in dir: TemporaryDirectory) throws -> String {
        let big = Double.greatestFiniteMagnitude
        var writer = try TXWWriter()
        try writer.addTensor(name: "wide", dtype: .f64, shape: [4],
                             bytes: ElementCoding.encode([1e308, -1e308, 1e308, -1e308], as: .f64))
        try writer.addTensor(name: "limits", dtype: .f64, shape: [6],
                             bytes: ElementCoding.encode([big, -big, .infinity, -.infinity, .nan, 0], as: .f64))
        try writer.addTensor(name: "equal", dtype: .f64, shape: [3], bytes: ElementCoding.encode([3.0, 3, 3], as: .f64))
        try writer.addTensor(name: "half", dtype: .f16, shape: [3], bytes: ElementCoding.encode([Float(65504), -65504, 0], as: .f16))
        try writer.addTensor(name: "brain", dtype: .bf16, shape: [3],
                             bytes: ElementCoding.encode([Float(3.3895314e38), -3.3895314e38, 1], as: .bf16))
        let path = dir.file("extremes.txw")
        try writer.write(to: path)
        return path
    }

    @Test func statisticsAreTotal() throws {
        let big = Double.greatestFiniteMagnitude
        let wide = TensorStatistics([1e308, -1e308, 1e308, -1e308])
        #expect(wide.min == -1e308 && wide.max == 1e308 && wide.mean == 0 && wide.std == 1e308)
        #expect(wide.histogram.reduce(0, +) == 4 && wide.histogram.first == 2 && wide.histogram.last == 2)
        let limits = TensorStatistics([big, -big, .infinity, -.infinity, .nan, 0])
        #expect(limits.nanCount == 1 && limits.infCount == 2 && limits.count == 6)
        #expect(limits.mean.isFinite && limits.std.isFinite && limits.std > 1e308)
        #expect(limits.histogram == [1] + [Int](repeating: 0, count: 7) + [1] + [Int](repeating: 0, count: 6) + [1])
        let sum = TensorStatistics([big, big, big])
        #expect(sum.mean.isFinite && abs(sum.mean - big) <= big * 1e-15 && sum.std.isFinite && sum.histogram[8] == 3)
        let equal = TensorStatistics([3, 3, 3])
        #expect(equal.std == 0 && equal.histogram[8] == 3 && equal.sparkline.count == 16)
        let tiny = TensorStatistics([0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude])
        #expect(tiny.histogram.reduce(0, +) == 3 && tiny.histogram.first == 1 && tiny.histogram.last == 1)
        let none = TensorStatistics([.nan, .infinity])
        #expect(none.histogram.isEmpty && none.sparkline.isEmpty && none.min.isNaN)
        #expect(TensorStatistics([1, 2], bins: 0).histogram == [2], "at least one bin")
        // Ordinary values keep their exact results.
        let plain = TensorStatistics([1, 2, 3, 4])
        #expect(plain.mean == 2.5 && plain.std == 1.25.squareRoot() && plain.histogram[0] == 1 && plain.histogram[15] == 1)
    }

    @Test func inspectStatsOfExtremeValues() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = try Self.extremes(in: dir)
        let text = try tool("txw-inspect", [path, "--stats"])
        #expect(text.status == 0 && text.stderr.isEmpty, "\(text.status) \(text.stderr)")
        #expect(text.stdout.contains("1e+308") && text.stdout.contains("6.55e+04") && text.stdout.contains("3.39e+38"), "\(text.stdout)")
        let json = try tool("txw-inspect", [path, "--stats", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let tensors = try #require(try jsonObject(json.stdout)["tensors"] as? [[String: Any]])
        func stats(_ name: String) throws -> [String: Any] {
            try #require(tensors.first { $0["name"] as? String == name }?["stats"] as? [String: Any])
        }
        #expect(try stats("wide")["std"] as? Double == 1e308 && stats("wide")["mean"] as? Double == 0)
        #expect(try stats("limits")["nan"] as? Int == 1 && stats("limits")["inf"] as? Int == 2)
        #expect(try (stats("limits")["histogram"] as? [Int])?.reduce(0, +) == 3)
        #expect(try stats("equal")["std"] as? Double == 0 && (stats("equal")["histogram"] as? [Int])?[8] == 3)
        #expect(try stats("half")["max"] as? Double == 65504 && stats("brain")["min"] as? Double == -3.3895313892515355e38)
    }

    /// Every tool's result on /dev/full: one stderr line, exit 1.
    @Test(.enabled(if: FileManager.default.isWritableFile(atPath: "/dev/full")))
    func stdoutWriteErrorsFailTheTool() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let runs: [(String, [String])] = [
            ("txw-inspect", [Self.golden]), ("txw-inspect", [Self.golden, "--json"]),
            ("txw-inspect", [Self.golden, "--verify"]), ("txw-inspect", [Self.golden, "--verify", "--json"]),
            ("txw-inspect", [Self.golden, "--stats"]),
            ("txw-inspect", [Self.golden, "--dump", "W_E"]), ("txw-inspect", [Self.golden, "--dump", "W_E", "--json"]),
            ("txw-run", [Self.golden, "--tokens", "1 2", "-n", "3"]), ("txw-run", [Self.golden, "--tokens", "1 2", "-n", "3", "--json"]),
            ("txw-run", [Self.golden, "--loss", "--tokens", "1 2 3"]), ("txw-run", [Self.golden, "--logits", "--tokens", "1 2", "--json"]),
            ("txw-pack", Self.packShape + ["-o", dir.file("p.txw"), "--json"]),
            ("txw-pack", Self.packShape + ["-o", dir.file("q.txw")]),
        ]
        for (name, arguments) in runs {
            let r = try tool(name, arguments, stdoutPath: "/dev/full")
            #expect(r.status == 1, "\(name) \(arguments): \(r.status) \(r.stderr)")
            #expect(r.stderr.hasPrefix("\(name): cannot write to standard output (") && r.stderr.hasSuffix(")\n")
                    && r.stderr.filter { $0 == "\n" }.count == 1, "\(name) \(arguments): \(r.stderr)")
        }
        // The same runs with stdout to a file succeed (the test's own control).
        #expect(try tool("txw-inspect", [Self.golden, "--dump", "W_E", "--json"]).status == 0)
    }

    /// A FIFO nobody writes to, given as the model, is refused once no
    /// writer has opened it for `InputFile.writerWait` seconds (it used to
    /// block in open(2)); the timeout makes a regression fail, not hang.
    @Test func aFIFOWithNoWriterAsTheModelIsRefused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let fifo = dir.file("model.txw")
        #expect(mkfifo(fifo, 0o600) == 0)
        let runs: [(String, [String])] = [
            ("txw-inspect", [fifo]), ("txw-inspect", [fifo, "--verify"]),
            ("txw-run", [fifo, "--tokens", "1"]),
            ("txw-pack", ["--from", fifo, "-o", dir.file("out.txw")]),
        ]
        for (name, arguments) in runs {
            let r = try tool(name, arguments, timeout: 30)
            #expect(r.status == 1, "\(name) \(arguments): \(r.status) \(r.stderr)")
            #expect(r.stderr == "\(name): \(fifo): a FIFO with no writer (nothing opened it for writing within 2 seconds)\n",
                    "\(name): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("out.txw")))
    }

    /// --force replaces a regular file or a symbolic link, never a FIFO, a
    /// device or a directory; a replaced link's 0777 is not copied.
    @Test func forceOntoWhatIsNotARegularFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let fifo = dir.file("pipe.txw")
        #expect(mkfifo(fifo, 0o600) == 0)
        let sub = dir.file("sub.txw")
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: false)
        var targets = [(fifo, "is not a regular file"), (sub, "is a directory")]
        // A device node of the test's own (never one in /dev: a regression would replace it), where mknod is allowed.
        #if os(Linux)
        if mknod(dir.file("device.txw"), S_IFCHR | 0o600, (1 << 8) | 3) == 0 {
            targets.append((dir.file("device.txw"), "is not a regular file"))
        }
        #endif
        for (path, what) in targets {
            let r = try tool("txw-pack", Self.packShape + ["-o", path, "--force"], timeout: 30)
            #expect(r.status == 1 && r.stderr == "txw-pack: \(path): write failed: \(what)\n", "\(path): \(r.stderr)")
        }
        let target = dir.file("target.bin"), link = dir.file("link.txw")
        try Data("keep".utf8).write(to: URL(fileURLWithPath: target))
        #expect(symlink(target, link) == 0)
        let replaced = try tool("txw-pack", Self.packShape + ["-o", link, "--force"])
        #expect(replaced.status == 0, "\(replaced.stderr)")
        var info = stat()
        #expect(lstat(link, &info) == 0 && info.st_mode & S_IFMT == S_IFREG && info.st_mode & 0o022 == 0)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep")
    }
}
