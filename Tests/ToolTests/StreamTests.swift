import Foundation
import Testing
import TXWFormat
import TXWKernels
import TXWModel
import TXWTestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Streams through the built tools: `-` for standard input and `-o -` for
/// standard output, pipes, /dev/stdin, FIFOs with and without a writer, a
/// closed pipe, and `txw-run --num-samples`.
struct StreamTests {
    static let shape = ["--d-model", "8", "--n-head", "2", "--d-head", "4", "--d-mlp", "16", "--n-block", "1"]
    static let text = "the cat sat on the mat and the dog sat on the log "

    /// A temporary directory with `m.txw` (a random model with a character
    /// vocabulary of `text`) and `c.txt` (the text).
    static func setUp() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        try text.write(toFile: dir.file("c.txt"), atomically: true, encoding: .utf8)
        let r = try tool("txw-pack", ["--random", "-o", dir.file("m.txw"), "--char-vocab", dir.file("c.txt"), "--seed", "5"] + shape)
        #expect(r.status == 0, "\(r.stderr)")
        return dir
    }

    /// `'…'` for sh.
    static func q(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// `path`'s and `piped`'s tensors and metadata are the same, but for
    /// `lineage.source`: the source's name in one, `standard input` in the other.
    static func expectSameButTheSourceName(_ path: String, _ name: String, _ piped: String,
                                           sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (m1, t1) = try ExportToolTests.contents(path)
        let (m2, t2) = try ExportToolTests.contents(piped)
        #expect(m1["lineage.source"] == .string(name) && m2["lineage.source"] == .string("standard input"), sourceLocation: sourceLocation)
        #expect(m1.filter { $0.key != "lineage.source" } == m2.filter { $0.key != "lineage.source" }, sourceLocation: sourceLocation)
        #expect(t1.keys.sorted() == t2.keys.sorted(), sourceLocation: sourceLocation)
        for (key, (dtype, shape, bytes)) in t1 {
            #expect(t2[key]?.0 == dtype && t2[key]?.1 == shape && t2[key]?.2 == bytes, "\(key)", sourceLocation: sourceLocation)
        }
    }

    @Test func theModelFromStandardInputIsTheFile() throws {
        let dir = try Self.setUp()
        defer { dir.cleanup() }
        let m = dir.file("m.txw")
        // txw-inspect: the same report as for the path, the file named "standard input".
        let direct = try tool("txw-inspect", [m])
        let fromFile = try tool("txw-inspect", ["-"], stdinPath: m)
        #expect(direct.status == 0 && fromFile.status == 0, "\(fromFile.stderr)")
        let lines = direct.stdout.split(separator: "\n"), streamed = fromFile.stdout.split(separator: "\n")
        #expect(streamed.first?.hasPrefix("file:        standard input (") == true, "\(fromFile.stdout)")
        #expect(lines.count > 5 && Array(lines.dropFirst()) == Array(streamed.dropFirst()))
        #expect(try tool("txw-inspect", ["-", "--verify"], stdinPath: m).stdout == tool("txw-inspect", [m, "--verify"]).stdout)
        // txw-run: a pipe and /dev/stdin (a pipe opened by path) sample what the path samples.
        let sample = try tool("txw-run", [m, "-n", "12", "--seed", "3", "--json"])
        #expect(sample.status == 0 && sample.stdout.contains("\"tokens\""), "\(sample.stderr)")
        for input in ["-", "/dev/stdin"] {
            let piped = try shell("cat \(Self.q(m)) | txw-run \(input) -n 12 --seed 3 --json")
            #expect(piped.status == 0 && piped.stdout == sample.stdout, "\(input): \(piped.stderr)")
        }
        // Nothing on standard input: refused, one line.
        let empty = try tool("txw-inspect", ["-"])
        #expect(empty.status == 1 && empty.stderr.hasPrefix("txw-inspect: standard input: ")
                && empty.stderr.filter { $0 == "\n" }.count == 1, "\(empty.stderr)")
        // Not a model: the reader's own check.
        let text = try tool("txw-run", ["-", "-n", "2"], stdinPath: dir.file("c.txt"))
        #expect(text.status == 1 && text.stderr.hasPrefix("txw-run: standard input: "), "\(text.stderr)")
    }

    @Test func packFromStandardInputAndToStandardOutput() throws {
        let dir = try Self.setUp()
        defer { dir.cleanup() }
        let m = dir.file("m.txw")
        // --from - re-packs to the same content and metadata as --from PATH (provenance is kept from
        // the source), but for the lineage's source name.
        #expect(try tool("txw-pack", ["--from", m, "-o", dir.file("a.txw")]).status == 0)
        let piped = try shell("cat \(Self.q(m)) | txw-pack --from - -o \(Self.q(dir.file("b.txw")))")
        #expect(piped.status == 0 && piped.stdout.hasPrefix("wrote \(dir.file("b.txw")): 9 tensors"), "\(piped.stderr)")
        try Self.expectSameButTheSourceName(dir.file("a.txw"), "m.txw", dir.file("b.txw"))
        // An npz from a pipe: sniffed by content as a path is.
        let npz = fixtures.appendingPathComponent("notebook.npz").path
        let byPath = try tool("txw-pack", ["--from", npz, "-o", dir.file("n1.txw")])
        let byPipe = try tool("txw-pack", ["--from", "-", "-o", dir.file("n2.txw")], stdinPath: npz)
        #expect(byPath.status == 0 && byPipe.status == 0, "\(byPipe.stderr)")
        #expect(byPipe.stdout.hasPrefix("wrote \(dir.file("n2.txw")): ")
                && byPath.stdout.drop { $0 != ":" } == byPipe.stdout.drop { $0 != ":" }, "\(byPipe.stdout)")
        // -o -: the bytes -o PATH writes, the report on stderr; piped into txw-inspect -.
        let args = ["--random", "--char-vocab", dir.file("c.txt"), "--seed", "9"] + Self.shape
        #expect(try tool("txw-pack", args + ["-o", dir.file("r.txw")]).status == 0)
        for name in ["s.txw", "t.txw"] { #expect(FileManager.default.createFile(atPath: dir.file(name), contents: nil)) }
        let out = try tool("txw-pack", args + ["-o", "-"], stdoutPath: dir.file("s.txw"))
        #expect(out.status == 0 && out.stderr.hasPrefix("wrote standard output: 9 tensors"), "\(out.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file("r.txw"))) == Data(contentsOf: URL(fileURLWithPath: dir.file("s.txw"))))
        let json = try tool("txw-pack", args + ["-o", "-", "--json"], stdoutPath: dir.file("t.txw"))
        #expect(try jsonObject(json.stderr)["path"] as? String == "standard output")
        let direct = try tool("txw-inspect", [dir.file("r.txw"), "--json"])
        let pipeline = try shell("txw-pack \(args.map(Self.q).joined(separator: " ")) -o - | txw-inspect - --json")
        #expect(pipeline.status == 0, "\(pipeline.stderr)")
        var a = try jsonObject(direct.stdout), b = try jsonObject(pipeline.stdout)
        #expect(b["path"] as? String == "-")
        a["path"] = nil
        b["path"] = nil
        #expect(NSDictionary(dictionary: a) == NSDictionary(dictionary: b))
        #expect(!FileManager.default.fileExists(atPath: dir.file("-")))
    }

    /// `-o -` on a terminal (a pseudo-terminal this test opens) is refused
    /// before anything is written.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/ptmx")))
    func binaryOutputToATerminalIsRefused() throws {
        // posix_openpt by hand: /dev/ptmx, unlocked (TIOCSPTLCK), its number
        // (TIOCGPTN); the ioctl numbers of <asm-generic/ioctls.h>, not imported.
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        try #require(master >= 0)
        defer { close(master) }
        var unlock: Int32 = 0, number: UInt32 = 0
        try #require(ioctl(master, 0x4004_5431, &unlock) == 0 && ioctl(master, 0x8004_5430, &number) == 0)
        let slave = "/dev/pts/\(number)"
        let r = try tool("txw-pack", ["--random", "--vocab-size", "4", "-o", "-"] + Self.shape, stdoutPath: slave)
        #expect(r.status == 64 && r.stderr.contains("standard output, which is a terminal"), "\(r.stderr)")
    }

    /// A closed pipe is a failed write: one line, exit 1 (not a silent SIGPIPE).
    @Test func aClosedPipeIsAnError() throws {
        // About 1.6 MB stored: more than any pipe buffer holds, so the write
        // meets the closed pipe whenever `true` exits.
        let script = "{ txw-pack --random --vocab-size 64 --d-model 64 --n-head 2 --d-head 32 --d-mlp 256 --n-block 4 "
            + "--dtype f64 --stored -o -; echo \"status $?\" >&2; } | true"
        let r = try shell(script)
        #expect(r.stderr == "txw-pack: cannot write to standard output (Broken pipe)\nstatus 1\n", "\(r.stderr)")
        // A full device as standard output (only redirected to, never an -o path): the same, one line, exit 1.
        if FileManager.default.isWritableFile(atPath: "/dev/full") {
            let full = try tool("txw-pack", ["--random", "--vocab-size", "4", "-o", "-"] + Self.shape, stdoutPath: "/dev/full")
            #expect(full.status == 1 && full.stderr.hasPrefix("txw-pack: cannot write to standard output (")
                    && full.stderr.filter { $0 == "\n" }.count == 1, "\(full.stderr)")
        }
    }

    @Test func textInputsFromStandardInput() throws {
        let dir = try Self.setUp()
        defer { dir.cleanup() }
        let m = dir.file("m.txw"), c = dir.file("c.txt")
        let loss = try tool("txw-run", [m, "--loss", "--text-file", c])
        #expect(loss.status == 0 && loss.stdout.hasPrefix("loss "), "\(loss.stderr)")
        #expect(try tool("txw-run", [m, "--loss", "--text-file", "-"], stdinPath: c).stdout == loss.stdout)
        #expect(try shell("cat \(Self.q(c)) | txw-run \(Self.q(m)) --loss --text-file /dev/stdin").stdout == loss.stdout)
        // --prompt-file PATH and - give what --prompt gives.
        try "the ca".write(toFile: dir.file("p.txt"), atomically: true, encoding: .utf8)
        let prompted = try tool("txw-run", [m, "--prompt", "the ca", "-n", "8", "--json"])
        #expect(prompted.status == 0 && prompted.stdout.contains("\"prompt_tokens\":[") , "\(prompted.stderr)")
        #expect(try tool("txw-run", [m, "--prompt-file", dir.file("p.txt"), "-n", "8", "--json"]).stdout == prompted.stdout)
        #expect(try tool("txw-run", [m, "--prompt-file", "-", "-n", "8", "--json"], stdinPath: dir.file("p.txt")).stdout == prompted.stdout)
        let notForLoss = try tool("txw-run", [m, "--loss", "--prompt-file", dir.file("p.txt")])
        #expect(notForLoss.status == 64, "\(notForLoss.stderr)")
        // txw-train --data -: the same file as --data PATH.
        let train = ["--random"] + Self.shape + ["--steps", "3", "--context", "6", "--batch", "2"]
        #expect(try tool("txw-train", train + ["-o", dir.file("t1.txw"), "--data", c]).status == 0)
        let fromStdin = try tool("txw-train", train + ["-o", dir.file("t2.txw"), "--data", "-"], stdinPath: c)
        #expect(fromStdin.status == 0, "\(fromStdin.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file("t1.txw"))) == Data(contentsOf: URL(fileURLWithPath: dir.file("t2.txw"))))
        // --init -: the model from standard input, as --init PATH.
        let initArgs = ["--steps", "2", "--context", "6", "--batch", "2", "--data", c]
        #expect(try tool("txw-train", ["--init", m, "-o", dir.file("i1.txw")] + initArgs).status == 0)
        let initStdin = try tool("txw-train", ["--init", "-", "-o", dir.file("i2.txw")] + initArgs, stdinPath: m)
        #expect(initStdin.status == 0, "\(initStdin.stderr)")
        try Self.expectSameButTheSourceName(dir.file("i1.txw"), "m.txw", dir.file("i2.txw"))
        // --resume checks the checksum of what standard input held.
        try (Self.text + "more").write(toFile: dir.file("other.txt"), atomically: true, encoding: .utf8)
        let other = try tool("txw-train", ["-o", dir.file("t2.txw"), "--resume", "--steps", "4", "--data", "-"], stdinPath: dir.file("other.txt"))
        #expect(other.status == 1 && other.stderr.contains("standard input: not the data"), "\(other.stderr)")
        let same = try tool("txw-train", ["-o", dir.file("t2.txw"), "--resume", "--steps", "4", "--data", "-"], stdinPath: c)
        #expect(same.status == 0, "\(same.stderr)")
    }

    /// A stream is read in chunks and refused once it passes the budget:
    /// an endless one (`yes`) ends with one line, never read unbounded.
    @Test func aStreamIsReadWithinTheBudget() throws {
        let dir = try Self.setUp()
        defer { dir.cleanup() }
        let endless = try shell("yes 2>&- | txw-inspect - --max-memory 1M", timeout: 120)
        #expect(endless.status == 1 && endless.stderr.hasPrefix("txw-inspect: reading standard input (")
                && endless.stderr.hasSuffix("over the memory budget of 1,048,576 bytes (--max-memory)\n")
                && endless.stderr.filter { $0 == "\n" }.count == 1, "\(endless.stderr)")
        let text = try shell("yes 2>&- | txw-run \(Self.q(dir.file("m.txw"))) --loss --text-file - --max-memory 4M", timeout: 120)
        #expect(text.status == 1 && text.stderr.hasPrefix("txw-run: reading standard input (")
                && text.stderr.contains("over the memory budget"), "\(text.stderr)")
        // The model's own bytes fit a budget the stream of it does not (three times its size).
        let size = try #require(try FileManager.default.attributesOfItem(atPath: dir.file("m.txw"))[.size] as? Int)
        let tight = try tool("txw-inspect", ["-", "--max-memory", String(size * 3 - 1)], stdinPath: dir.file("m.txw"))
        #expect(tight.status == 1 && tight.stderr.contains("over the memory budget"), "\(tight.stderr)")
        #expect(try tool("txw-inspect", ["-", "--max-memory", String(size * 3 + 65536)], stdinPath: dir.file("m.txw")).status == 0)
    }

    @Test func onlyOneInputMayBeStandardInput() throws {
        let runs: [(String, [String])] = [
            ("txw-run", ["-", "--loss", "--text-file", "-"]),
            ("txw-run", ["-", "--prompt-file", "-"]),
            ("txw-pack", ["--from", "-", "--vocab", "-", "-o", "x.txw"]),
            ("txw-train", ["--init", "-", "--data", "-", "-o", "x.txw"]),
            ("txw-train", ["--random", "--vocab", "-", "--data", "-", "-o", "x.txw"] + Self.shape),
        ]
        for (name, arguments) in runs {
            let r = try tool(name, arguments)
            #expect(r.status == 64 && r.stderr.contains("only one input can be standard input ('-')"), "\(name) \(arguments): \(r.stderr)")
        }
    }

    /// Writes `bytes` to `fifo` on a thread of its own, once a reader has it
    /// open: open(2) for writing without blocking fails (ENXIO) until then,
    /// so the writer opens after the tool (which then waits for it), and
    /// writes half, pauses, writes the rest (the tool meets an empty FIFO
    /// with a writer), and closes it. The returned call waits for the thread;
    /// it gives up after 60 seconds without a reader.
    static func writer(_ fifo: String, _ bytes: [UInt8]) -> @Sendable () -> Void {
        // A tool that stops reading early must fail the test, not kill the
        // test process with SIGPIPE.
        _ = signal(SIGPIPE, SIG_IGN)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            defer { done.signal() }
            var fd: Int32 = -1
            for _ in 0..<6000 {
                fd = open(fifo, O_WRONLY | O_NONBLOCK)
                if fd >= 0 || errno != ENXIO { break }
                usleep(10_000)
            }
            guard fd >= 0 else { return }
            defer { close(fd) }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
            for (part, range) in [0..<(bytes.count / 2), (bytes.count / 2)..<bytes.count].enumerated() {
                if part == 1 { usleep(200_000) }
                var offset = range.lowerBound
                while offset < range.upperBound {
                    let n = bytes[offset..<range.upperBound].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                    if n <= 0 { return }
                    offset += n
                }
            }
        }
        return { done.wait() }
    }

    /// A FIFO given as the model or as a text file is read as a stream when
    /// a writer opens it.
    @Test func aFIFOWithAWriterIsReadAsAStream() throws {
        let dir = try Self.setUp()
        defer { dir.cleanup() }
        let m = dir.file("m.txw"), fifo = dir.file("pipe")
        #expect(mkfifo(fifo, 0o600) == 0)
        let model = [UInt8](try Data(contentsOf: URL(fileURLWithPath: m)))
        let direct = try tool("txw-inspect", [m, "--json"])
        var finish = Self.writer(fifo, model)
        let streamed = try tool("txw-inspect", [fifo, "--json"], timeout: 60)
        finish()
        #expect(streamed.status == 0, "\(streamed.stderr)")
        var a = try jsonObject(direct.stdout), b = try jsonObject(streamed.stdout)
        a["path"] = nil
        b["path"] = nil
        #expect(NSDictionary(dictionary: a) == NSDictionary(dictionary: b))
        let loss = try tool("txw-run", [m, "--loss", "--text-file", dir.file("c.txt")])
        finish = Self.writer(fifo, Array(Self.text.utf8))
        let fromFIFO = try tool("txw-run", [m, "--loss", "--text-file", fifo], timeout: 60)
        finish()
        #expect(fromFIFO.status == 0 && fromFIFO.stdout == loss.stdout, "\(fromFIFO.stderr)")
    }

    /// --num-samples: sample 1 is the plain run; each next sample continues
    /// the same generator, i.e. is what the library sampler draws with the
    /// generator state the previous sample left.
    @Test func numSamplesContinueOneGenerator() throws {
        let dir = try Self.setUp()
        defer { dir.cleanup() }
        let m = dir.file("m.txw")
        let flags = [m, "--prompt", "the ", "-n", "10", "--seed", "11", "-k", "5"]
        let single = try tool("txw-run", flags + ["--json"])
        let list = try tool("txw-run", flags + ["--json", "--num-samples", "3"])
        #expect(single.status == 0 && list.status == 0, "\(list.stderr)")
        let samples = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(samples.count == 3)
        #expect(NSDictionary(dictionary: samples[0]) == NSDictionary(dictionary: try jsonObject(single.stdout)))
        // The library, drawing three times from one generator.
        let loaded = try ModelFile.load(path: m, as: Float.self)
        let prompt = try #require(loaded.vocabulary).encode("the ")
        let sampler = try TopKSampler(k: 5, temperature: 1, seed: 11)
        var rng = NumpyRandom(seed: 11)
        var expected: [[Int]] = []
        for _ in 0..<3 { expected.append(try sampler.sample(loaded.weights, prompt: prompt, count: 10, continuing: &rng)) }
        #expect(samples.map { $0["tokens"] as? [Int] ?? [] } == expected)
        #expect(expected[1] != expected[0] || expected[2] != expected[0], "the samples differ")
        #expect(samples.allSatisfy { $0["prompt_tokens"] as? [Int] == prompt })
        // The numpy reference: one default_rng across the samples (tools/reference).
        if let python = ProcessInfo.processInfo.environment["TXW_PYTHON"] {
            let npz = fixtures.appendingPathComponent("notebook.npz").path
            #expect(try tool("txw-pack", ["--from", npz, "-o", dir.file("nb.txw")]).status == 0)
            let run = try tool("txw-run", [dir.file("nb.txw"), "--tokens", "3 1 4", "-n", "8", "-k", "5", "-t", "0.8",
                                           "--seed", "42", "--precision", "f64", "--num-samples", "3", "--json"])
            let found = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]], "\(run.stderr)")
            let script = """
                import json, sys
                import numpy as np
                sys.path.insert(0, sys.argv[1])
                import reference as ref
                a = np.load(sys.argv[2])
                n_block = len({k.split(".")[1] for k in a.files if k.startswith("blocks.")})
                paras = [ref.BlockParameter(**{f: a[f"blocks.{i}.{f}"] for f in ref.BlockParameter._fields}) for i in range(n_block)]
                print(json.dumps(ref.topk_samples_spec([3, 1, 4], a["W_E"], paras, 8, 5, 0.8, 42, 3)))
                """
            let r = try runProcess(URL(fileURLWithPath: python), ["-c", script, repositoryRoot.appendingPathComponent("tools/reference").path, npz])
            #expect(r.status == 0, "\(r.stderr)")
            let reference = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[Int]], "\(r.stdout)")
            #expect(found.map { $0["tokens"] as? [Int] ?? [] } == reference)
            #expect(reference.count == 3 && reference[1] != reference[0])
        }
        // Text: each sample after its line; with one sample, the plain output.
        let text = try tool("txw-run", flags + ["--num-samples", "3"])
        let vocabulary = try #require(loaded.vocabulary)
        let expectedText = (0..<3).map { "--- sample \($0 + 1) of 3 ---\n" + (try! vocabulary.decode(expected[$0])) + "\n" }.joined()
        #expect(text.stdout == expectedText)
        #expect(try tool("txw-run", flags + ["--num-samples", "1"]).stdout == tool("txw-run", flags).stdout)
        let one = try tool("txw-run", flags + ["--num-samples", "1", "--json"])
        #expect(one.stdout == "[" + single.stdout.dropLast() + "]\n")
        for bad in [["--num-samples", "0"], ["--loss", "--text", "the", "--num-samples", "2"]] {
            let r = try tool("txw-run", [m] + bad)
            #expect(r.status == 64 && r.stderr.contains("--num-samples"), "\(bad): \(r.stderr)")
        }
    }
}
