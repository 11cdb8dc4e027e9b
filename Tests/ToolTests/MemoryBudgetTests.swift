import Foundation
import Testing
@testable import TXWFormat
import TXWTestSupport
import TXWToolSupport

/// The memory policy: small files that claim huge tensors are refused with
/// one line naming what needs how many bytes — never an abort — under an
/// explicit `--max-memory` and under an address-space limit alone; the
/// budget's arithmetic, flag parsing and default.
struct MemoryBudgetTests {
    // MARK: A generator of tiny files with huge tensors (Spec/txw-format.md §1)

    /// A zstd frame of `count` zero bytes made of RLE blocks (4 bytes per 128 KiB).
    static func zeroFrame(_ count: Int) -> [UInt8] {
        var frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0xE0]  // magic; single segment, 8-byte content size
        frame += withUnsafeBytes(of: UInt64(count).littleEndian, Array.init)
        var left = count
        repeat {
            let n = min(left, 128 << 10)
            left -= n
            let header = UInt32(n) << 3 | 1 << 1 | (left == 0 ? 1 : 0)  // RLE block
            frame += [UInt8(header & 0xFF), UInt8(header >> 8 & 0xFF), UInt8(header >> 16 & 0xFF), 0]
        } while left > 0
        return frame
    }

    enum Value { case int(Int64), float(Double) }

    /// A container holding `tensors` (f32 or f64, all zeros, zstd in 64 MiB blocks) and `metadata`.
    static func container(metadata: [(String, Value)], tensors: [(name: String, dtype: DType, shape: [Int])]) -> [UInt8] {
        let blockSize = 1 << 26
        func u16(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt16(v).littleEndian, Array.init) }
        func u32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(v).littleEndian, Array.init) }
        func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func align(_ x: Int) -> Int { (x + 63) / 64 * 64 }
        let raws = tensors.map { $0.shape.reduce(1, *) * $0.dtype.size }
        let frames = raws.map { raw in stride(from: 0, to: raw, by: blockSize).map { zeroFrame(min(blockSize, raw - $0)) } }
        func manifest(dataOffset: Int) -> [UInt8] {
            var out = u32(metadata.count)
            for (key, value) in metadata.sorted(by: { $0.0 < $1.0 }) {
                out += u16(key.utf8.count) + Array(key.utf8)
                switch value {
                case let .int(v): out += [1] + u64(UInt64(bitPattern: v))
                case let .float(v): out += [2] + u64(v.bitPattern)
                }
            }
            out += u32(tensors.count)
            var next = dataOffset
            for (t, tensor) in tensors.enumerated() {
                out += u16(tensor.name.utf8.count) + Array(tensor.name.utf8)
                out += [tensor.dtype.rawValue, 1, 0, UInt8(tensor.shape.count)]
                for d in tensor.shape { out += u64(UInt64(d)) }
                out += u64(UInt64(blockSize)) + u32(frames[t].count)
                for (b, frame) in frames[t].enumerated() {
                    let raw = min(blockSize, raws[t] - b * blockSize)
                    out += u64(UInt64(next)) + u64(UInt64(frame.count)) + u64(UInt64(raw)) + u64(Checksum.xxh3(frame))
                    next = align(next + frame.count)
                }
            }
            return out
        }
        let length = manifest(dataOffset: 0).count
        let dataOffset = align(64 + length)
        var body = manifest(dataOffset: dataOffset)
        body += [UInt8](repeating: 0, count: dataOffset - 64 - length)
        for frame in frames.joined() {
            body += [UInt8](repeating: 0, count: align(64 + body.count) - 64 - body.count)
            body += frame
        }
        var head: [UInt8] = [0x89, 0x54, 0x58, 0x57, 0x0D, 0x0A, 0x1A, 0x0A] + u16(1) + u16(0) + u32(0)
        head += u64(UInt64(length)) + u64(UInt64(dataOffset)) + u64(UInt64(64 + body.count)) + u64(0)
        head += u64(Checksum.xxh3(Array(body[..<(dataOffset - 64)])))
        head += u64(Checksum.xxh3(head))
        return head + body
    }

    /// A model with n_block 0: only W_E (V, d), all zeros.
    static func model(V: Int, d: Int, dtype: DType = .f32) -> [UInt8] {
        container(metadata: [
            ("model.vocab_size", .int(Int64(V))), ("model.d_model", .int(Int64(d))), ("model.n_head", .int(1)),
            ("model.d_head", .int(1)), ("model.d_mlp", .int(1)), ("model.n_block", .int(0)),
            ("model.rmsnorm_epsilon", .float(1e-5)), ("model.positional_base", .float(10000)), ("model.mask_value", .float(-1e9)),
        ], tensors: [("W_E", dtype, [V, d])])
    }

    /// Runs `name` under an address-space limit of `kilobytes` (the shell's `ulimit -v`).
    func limited(_ kilobytes: Int, _ name: String, _ arguments: [String]) throws -> ProcessResult {
        let quoted = ([binDirectory.appendingPathComponent(name).path] + arguments).map { "'" + $0 + "'" }.joined(separator: " ")
        return try runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "ulimit -v \(kilobytes) && exec \(quoted)"], environment: nil,
                              stdoutPath: nil, timeout: nil)
    }

    func expectRefused(_ result: ProcessResult, naming: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 1, "status \(result.status): \(result.stderr)", sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(naming) && result.stderr.contains("over the memory budget")
                && result.stderr.contains(" bytes"), "\(result.stderr)", sourceLocation: sourceLocation)
    }

    // MARK: Huge tensors in tiny files

    /// 2^27 f32 zeros (512 MiB decoded) in a file of a few KB.
    @Test func hugeTensorIsRefusedUnderMaxMemory() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let bytes = Self.container(metadata: [], tensors: [("big", .f32, [1 << 15, 1 << 12])])
        #expect(bytes.count < 32 << 10)
        try Data(bytes).write(to: URL(fileURLWithPath: dir.file("big.txw")))
        for flags in [["--stats"], ["--dump", "big", "--json"], ["--dump", "big"]] {
            let result = try tool("txw-inspect", [dir.file("big.txw"), "--max-memory", "64M"] + flags)
            expectRefused(result, naming: "big.txw: tensor 'big' decoded as")
            #expect(result.stderr.contains("needs \(flags[0] == "--stats" ? "1,610,612,736" : "536,870,912") bytes"), "\(result.stderr)")
            #expect(result.stderr.contains("67,108,864 bytes (--max-memory)"), "\(result.stderr)")
        }
    }

    /// The same refusals with no --max-memory, under `ulimit -v` alone: the
    /// default budget honours RLIMIT_AS, and nothing aborts.
    @Test func addressSpaceLimitGivesTheDefault() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Data(Self.container(metadata: [], tensors: [("big", .f32, [1 << 16, 1 << 13])]))
            .write(to: URL(fileURLWithPath: dir.file("big.txw")))
        try Data(Self.model(V: 1 << 20, d: 256)).write(to: URL(fileURLWithPath: dir.file("m.txw")))
        let limit = 1_500_000  // KiB: a default budget of about 730 MiB
        expectRefused(try limited(limit, "txw-inspect", [dir.file("big.txw"), "--stats"]), naming: "tensor 'big'")
        expectRefused(try limited(limit, "txw-inspect", [dir.file("big.txw"), "--dump", "big", "--json"]), naming: "tensor 'big'")
        expectRefused(try limited(limit, "txw-run", [dir.file("m.txw"), "--precision", "f64", "--tokens", "1 2"]), naming: "tensor 'W_E'")
        expectRefused(try limited(limit, "txw-run", [dir.file("m.txw"), "--loss", "--tokens", "1 2 3"]), naming: "W_E")
    }

    /// --loss never holds m × V logits: 1,000 tokens at V = 65,536 (256 MB of
    /// f32 logits) fit a 64 MiB budget, and all-zero weights give ln V.
    @Test func lossIsBoundedIndependentlyOfSequenceTimesVocabulary() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Data(Self.model(V: 65536, d: 2)).write(to: URL(fileURLWithPath: dir.file("m.txw")))
        let tokens = (0..<1000).map { String($0 * 37 % 65536) }.joined(separator: " ")
        let result = try tool("txw-run", [dir.file("m.txw"), "--loss", "--tokens", tokens, "--json", "--max-memory", "64M"])
        #expect(result.status == 0, "\(result.stderr)")
        let loss = try #require(try jsonObject(result.stdout)["loss"] as? Double)
        #expect(abs(loss - log(65536.0)) < 1e-5, "\(loss)")
        // The m × V logits would not fit: refused, one line.
        let logits = try tool("txw-run", [dir.file("m.txw"), "--logits", "--tokens", tokens, "--max-memory", "64M"])
        expectRefused(logits, naming: "1000 × 65536 logits")
    }

    /// A streamed dump is byte for byte the text of one JSON value: Foundation's
    /// parser reads it back as the tensor's values.
    @Test func streamedDumpParses() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let values = (0..<40_000).map { Float($0) * 0.37 - 100 }
        var writer = try TXWWriter()
        try writer.addTensor(name: "w", dtype: .f32, shape: [200, 200], bytes: ElementCoding.encode(values, as: .f32))
        try writer.write(to: dir.file("w.txw"))
        let result = try tool("txw-inspect", [dir.file("w.txw"), "--dump", "w", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.utf8.count > 2 * ChunkedText.defaultChunk && result.stdout.hasSuffix("}\n"))
        let object = try jsonObject(result.stdout)
        let parsed = try #require(object["values"] as? [Double])
        #expect(parsed.count == values.count && zip(parsed, values).allSatisfy { Float($0) == $1 })
        #expect(object["shape"] as? [Int] == [200, 200] && object["name"] as? String == "w")
        // The text dump: 200 lines of 200 numbers.
        let text = try tool("txw-inspect", [dir.file("w.txw"), "--dump", "w"])
        let lines = text.stdout.split(separator: "\n")
        #expect(lines.count == 200 && lines.allSatisfy { $0.split(separator: " ").count == 200 })
        #expect(lines[1].split(separator: " ").map { Float(String($0))! } == Array(values[200..<400]))
    }

    // MARK: Arithmetic, flags, default

    @Test func needsOverflowIntoRefusals() {
        #expect(MemoryBudget.bytes(count: Int.max / 2 + 1, size: 2) == nil)
        #expect(MemoryBudget.bytes(count: -1, size: 2) == nil)
        #expect(MemoryBudget.sum([Int.max, 1]) == nil)
        #expect(MemoryBudget.sum([1, nil]) == nil)
        #expect(MemoryBudget.sum([3, 4]) == 7)
        #expect(throws: TXWFormatError.overMemoryBudget(what: "x", need: .max, budget: Int.max)) {
            try MemoryBudget.unlimited.check(nil, for: "x")
        }
        #expect(throws: TXWFormatError.overMemoryBudget(what: "y", need: 11, budget: 10)) {
            try MemoryBudget(bytes: 10).check(11, for: "y")
        }
        #expect((try? MemoryBudget(bytes: 10).check(10, for: "z")) != nil)
    }

    @Test(arguments: [
        ("1", 1), ("512M", 512 << 20), ("1.5G", 3 << 29), ("2k", 2048), ("1T", 1 << 40), ("0.5K", 512), ("8589934592", 1 << 33),
    ])
    func sizesParse(text: String, bytes: Int) throws {
        #expect(try MemoryOptions.parseSize(text) == bytes)
    }

    @Test(arguments: ["0", "0M", "-5", "abc", "1.5.2G", "", "G", "1e9", "99999999999999999999", "9000000000T", "0.0001K", " 5M", "5MB", ".5G", "5.", "5ß", "5ﬀ", "5\u{212A}", "٥M"])
    func badSizesAreUsageErrors(text: String) {
        #expect(throws: (any Error).self) { try MemoryOptions.parseSize(text) }
    }

    @Test func badFlagExits64() throws {
        let result = try tool("txw-inspect", ["nothing.txw", "--max-memory", "lots"])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("--max-memory"))
    }

    @Test func defaultIsHalfTheSmallestLimit() {
        #expect(MemoryBudget.defaultBytes(physical: 16 << 30, cgroup: nil, addressSpace: nil, data: nil) == 8 << 30)
        #expect(MemoryBudget.defaultBytes(physical: 16 << 30, cgroup: 4 << 30, addressSpace: 2 << 30, data: 3 << 30) == 1 << 30)
        #expect(MemoryBudget.defaultBytes(physical: 16 << 30, cgroup: nil, addressSpace: nil, data: 1 << 20) == 1 << 19)
        #expect(MemoryBudget.defaultBytes(physical: nil, cgroup: nil, addressSpace: nil, data: nil) == 1 << 30)
        #expect(MemoryBudget.systemDefault.bytes >= 1)
    }

    /// The vocabulary's automaton over budget is an error of the run (exit 1),
    /// not "not a txw model" with exit 0.
    @Test func inspectRefusesTheVocabularyOverBudget() throws {
        for flags in [[String](), ["--json"]] {
            let result = try tool("txw-inspect", [repositoryRoot.appendingPathComponent("samples/tiny.txw").path, "--max-memory", "2K"] + flags)
            expectRefused(result, naming: "vocabulary")
            #expect(result.stdout.isEmpty, "\(result.stdout)")
        }
    }

    /// Over budget even at --batch 1 --context 1: not a usage error about
    /// those flags, but exit 1 naming the model's training state.
    @Test func trainingStateOverBudgetIsNotAFlagError() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Data(String(repeating: "abcdefgh ", count: 64).utf8).write(to: URL(fileURLWithPath: dir.file("data.txt")))
        // About 8.4 M parameters: the arrays and f32 weights (119 MB) fit 300 MiB,
        // the gradients, their sum and the moments on top (459 MB) do not.
        let result = try tool("txw-train", ["-o", dir.file("out.txw"), "--random", "--data", dir.file("data.txt"),
                                            "--d-model", "512", "--n-head", "2", "--d-head", "8", "--d-mlp", "4096",
                                            "--n-block", "2", "--steps", "1", "--max-memory", "300M"])
        expectRefused(result, naming: "even at --batch 1 --context 1")
        #expect(!result.stderr.contains("--batch/--context:"), "\(result.stderr)")
    }

    /// The default budget's cgroup limit, found from a membership file: the
    /// smallest of the process's cgroup and its ancestors, v2 and v1.
    @Test func cgroupLimitsOfTheProcessAndItsAncestors() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        func write(_ path: String, _ text: String) throws {
            let url = URL(fileURLWithPath: dir.file(path))
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        try write("cg/memory.max", "max\n")
        try write("cg/a/memory.max", "8000000\n")
        try write("cg/a/b/memory.max", "max\n")
        try write("v2", "0::/a/b\n")
        #expect(SystemMemory.cgroupLimit(membership: dir.file("v2"), root: dir.file("cg")) == 8_000_000)
        try write("cg/memory/x/memory.limit_in_bytes", "3000000\n")
        try write("cg/memory/memory.limit_in_bytes", "9223372036854771712\n")
        try write("v1", "4:memory:/x\n3:cpu:/elsewhere\n0::/a/b\n")
        #expect(SystemMemory.cgroupLimit(membership: dir.file("v1"), root: dir.file("cg")) == 3_000_000)
        try write("none", "0::/\n")
        #expect(SystemMemory.cgroupLimit(membership: dir.file("none"), root: dir.file("cg")) == nil)
        #expect(SystemMemory.cgroupLimit(membership: dir.file("missing"), root: dir.file("cg")) == nil)
    }
}
