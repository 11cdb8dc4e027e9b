import Foundation
import Testing
import TXWFormat
import TXWModel
import TXWTestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Imports through a stream keep what imports from a path keep; stream
/// messages read like path messages; an output link to something that is
/// not a regular file is never replaced.
struct StreamImportTests {
    /// `--from -` reads an exported file whole: the constants, the context
    /// length, the vocabulary and the metadata, as `--from PATH` does.
    @Test(arguments: ["npz", "safetensors"])
    func aStreamKeepsTheExchangeMetadata(format: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try ExportToolTests.source(dir.file("a.txw"), dtype: .f32)
        let exported = dir.file("a.\(format)")
        #expect(try tool("txw-pack", ["--from", dir.file("a.txw"), "-o", exported]).status == 0)
        let fromPath = try tool("txw-pack", ["--from", exported, "-o", dir.file("p.txw")])
        let fromStream = try tool("txw-pack", ["--from", "-", "-o", dir.file("s.txw")], stdinPath: exported)
        #expect(fromPath.status == 0 && fromStream.status == 0, "\(fromPath.stderr) \(fromStream.stderr)")
        let (pathMetadata, pathTensors) = try ExportToolTests.contents(dir.file("p.txw"))
        let (streamMetadata, streamTensors) = try ExportToolTests.contents(dir.file("s.txw"))
        // The same but for the provenance and the lineage's source name (the bytes and their SHA-256 are the same).
        let differ: Set<String> = ["provenance", "lineage.source"]
        #expect(streamMetadata.filter { !differ.contains($0.key) } == pathMetadata.filter { !differ.contains($0.key) })
        #expect(streamMetadata["lineage.source"] == .string("standard input") && pathMetadata["lineage.source"] == .string("a.\(format)"))
        #expect(streamMetadata["lineage.source_sha256"] != nil && streamMetadata["lineage.source_format"] == .string(format))
        #expect(streamMetadata["model.context_length"] == .int(77) && streamMetadata["model.mask_value"] == .float(-3.0e8))
        #expect(streamMetadata["model.vocab"] != nil && streamMetadata["s"] == .string("x:y \"z\""))
        #expect(streamTensors.keys.sorted() == pathTensors.keys.sorted())
        for (name, (dtype, shape, bytes)) in pathTensors {
            #expect(streamTensors[name]?.0 == dtype && streamTensors[name]?.1 == shape && streamTensors[name]?.2 == bytes, "\(name)")
        }
    }

    @Test func streamMessagesNameStandardInputOnce() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: dir.file("t.txt")))
        let text = try tool("txw-pack", ["--from", "-", "-o", dir.file("x.txw")], stdinPath: dir.file("t.txt"))
        #expect(text.status == 1 && text.stderr.components(separatedBy: "standard input").count == 2, "\(text.stderr)")
        // An npz on standard input, where a txw file is expected: named as such.
        try ExportToolTests.source(dir.file("a.txw"), dtype: .f32)
        #expect(try tool("txw-pack", ["--from", dir.file("a.txw"), "-o", dir.file("a.npz")]).status == 0)
        for (name, args) in [("txw-inspect", ["-"]), ("txw-run", ["-", "-n", "1"])] {
            let r = try tool(name, args, stdinPath: dir.file("a.npz"))
            #expect(r.status == 1 && r.stderr.contains("standard input: an npz archive") && !r.stderr.contains("badMagic"), "\(r.stderr)")
        }
    }

    /// `--tokens -1` is read as the value (and refused as a token id), not as a missing value.
    @Test func negativeTokenIdsAreValues() throws {
        let r = try tool("txw-run", [repositoryRoot.appendingPathComponent("samples/tiny.txw").path, "--tokens", "-1"])
        #expect(r.status != 0 && !r.stderr.contains("Missing value"), "\(r.stderr)")
        #expect(r.stderr.contains("-1"), "\(r.stderr)")
    }

    /// A symlink to a FIFO (as /dev/stdout is to a pipe) is not replaced,
    /// even with --force; a link to a regular file still is (its target untouched).
    @Test func aLinkToANonRegularFileIsNotReplaced() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let fifo = dir.file("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        try FileManager.default.createSymbolicLink(atPath: dir.file("link.txw"), withDestinationPath: fifo)
        let source = repositoryRoot.appendingPathComponent("samples/tiny.txw").path
        let r = try tool("txw-pack", ["--from", source, "-o", dir.file("link.txw"), "--force"], timeout: 60)
        #expect(r.status == 1 && r.stderr.contains("not a regular file"), "\(r.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir.file("link.txw")) == fifo)
        try Data("old".utf8).write(to: URL(fileURLWithPath: dir.file("target")))
        try FileManager.default.createSymbolicLink(atPath: dir.file("regular.txw"), withDestinationPath: dir.file("target"))
        #expect(try tool("txw-pack", ["--from", source, "-o", dir.file("regular.txw"), "--force"]).status == 0)
        #expect(try String(contentsOfFile: dir.file("target"), encoding: .utf8) == "old")
    }
}
