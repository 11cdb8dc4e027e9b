import Foundation
import Testing
import TXWTestSupport

/// Messages: one line, the path once, no internal names; foreign files named
/// with the command that reads them; TransformerLens layouts named.
struct MessageTests {
    @Test func foreignFilesAreNamedWithTheCommandThatReadsThem() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        // Written here from each format's first bytes.
        func zipLocalHeader(_ name: String) -> [UInt8] {
            var b: [UInt8] = [0x50, 0x4B, 0x03, 0x04] + [UInt8](repeating: 0, count: 22)
            b += [UInt8(name.utf8.count), 0, 0, 0] + Array(name.utf8)
            return b + [UInt8](repeating: 0, count: 64)
        }
        var safetensors: [UInt8] = [2, 0, 0, 0, 0, 0, 0, 0]
        safetensors += Array("{}".utf8)
        let files: [(String, [UInt8], String, Bool)] = [
            ("model.npz", zipLocalHeader("W_E.npy"), "an npz archive", true),
            ("model.safetensors", safetensors, "a safetensors file", true),
            ("model.gguf", Array("GGUF".utf8) + [3, 0, 0, 0] + [UInt8](repeating: 0, count: 32), "a GGUF file", false),
            ("model.pt", zipLocalHeader("archive/data.pkl"), "a PyTorch checkpoint", false),
            ("bare.pt", zipLocalHeader("data.pkl"), "a PyTorch checkpoint", false),
        ]
        for (name, bytes, what, importable) in files {
            let path = dir.file(name)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            for (tool_, args) in [("txw-inspect", [path]), ("txw-run", [path, "-n", "1"])] {
                let r = try tool(tool_, args)
                #expect(r.status == 1, "\(tool_) \(name): \(r.stderr)")
                let lines = r.stderr.split(separator: "\n")
                #expect(lines.count == 1, "\(tool_) \(name): \(r.stderr)")
                #expect(r.stderr.hasPrefix("\(tool_): \(path): \(what)") && r.stderr.contains(", not a txw file"), "\(tool_) \(name): \(r.stderr)")
                #expect(r.stderr.components(separatedBy: path).count == 2, "the path once: \(r.stderr)")
                #expect(r.stderr.contains(importable ? "txw-pack --from FILE -o model.txw" : "not supported"), "\(r.stderr)")
                #expect(!r.stderr.contains("badMagic"), "\(r.stderr)")
            }
            if !importable {
                let pack = try tool("txw-pack", ["--from", path, "-o", dir.file("out.txw")])
                #expect(pack.status == 1 && pack.stderr.contains("not supported"), "pack \(name): \(pack.stderr)")
                #expect(pack.stderr.split(separator: "\n").count == 1)
            }
        }
        // Any other file: what it is not, without the internal category name.
        let text = dir.file("notes.txt")
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: text))
        let r = try tool("txw-inspect", [text])
        #expect(r.stderr == "txw-inspect: \(text): not a txw file: the bytes at offset 0 are 68 65 6c 6c 6f 0a, expected the magic 89 54 58 57 0d 0a 1a 0a\n")
    }

    @Test func thePathAppearsOnce() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let text = dir.file("notes.txt")
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: text))
        try FileManager.default.createDirectory(atPath: dir.file("folder"), withIntermediateDirectories: false)
        let golden = repositoryRoot.appendingPathComponent("samples/golden.txw").path
        let existing = dir.file("exists.txw")
        try Data("x".utf8).write(to: URL(fileURLWithPath: existing))
        let cases: [(String, [String], String)] = [
            ("txw-pack", ["--from", text, "-o", dir.file("o.txw")], text),
            ("txw-pack", ["--from", dir.file("folder"), "-o", dir.file("o.txw")], dir.file("folder")),
            ("txw-inspect", [dir.file("folder")], dir.file("folder")),
            ("txw-run", [dir.file("folder")], dir.file("folder")),
            ("txw-inspect", [text], text),
            ("txw-pack", ["--from", golden, "-o", existing], existing),
        ]
        for (name, args, path) in cases {
            let r = try tool(name, args)
            #expect(r.status == 1, "\(name) \(args): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
            #expect(r.stderr.components(separatedBy: path).count == 2, "the path once: \(r.stderr)")
            #expect(!r.stderr.contains("overwrite"), "no internal names: \(r.stderr)")
        }
    }

    @Test func transformerLensLayoutsAreNamed() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        // d_model 4, n_head 2, d_head 3 (so no two axes are equal).
        func transpose(_ edit: (inout [String: ([Int], [Double])]) -> Void) throws -> String {
            var tensors: [String: ([Int], [Double])] = [:]
            for (name, shape) in [("W_E", [5, 4]), ("blocks.0.W_Q", [4, 3, 2]), ("blocks.0.W_K", [4, 3, 2]), ("blocks.0.W_V", [4, 3, 2]),
                                  ("blocks.0.W_O", [6, 4]), ("blocks.0.W_1", [4, 8]), ("blocks.0.b_1", [8]), ("blocks.0.W_2", [8, 4]),
                                  ("blocks.0.b_2", [4])] {
                tensors[name] = (shape, [Double](repeating: 0.25, count: shape.reduce(1, *)))
            }
            edit(&tensors)
            let path = dir.file("tl.safetensors")
            try NonFiniteWeightTests.writeSafetensors(tensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value.0, $0.value.1) }, to: path)
            let r = try tool("txw-pack", ["--from", path, "-o", dir.file("tl.txw")])
            #expect(r.status == 1 && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
            return r.stderr
        }
        let q = try transpose { $0["blocks.0.W_Q"]!.0 = [2, 4, 3] }
        #expect(q.contains("tensor 'blocks.0.W_Q' has shape (2, 4, 3), the layout of TransformerLens (n_head, d_model, d_head); txw expects (4, 3, 2) (d_model, d_head, n_head)"), "\(q)")
        let k = try transpose { $0["blocks.0.W_K"]!.0 = [2, 4, 3] }
        #expect(k.contains("tensor 'blocks.0.W_K' has shape (2, 4, 3), the layout of TransformerLens (n_head, d_model, d_head); txw expects (4, 3, 2)"), "\(k)")
        let o = try transpose { $0["blocks.0.W_O"]!.0 = [2, 3, 4] }
        #expect(o.contains("tensor 'blocks.0.W_O' has shape (2, 3, 4), the layout of TransformerLens (n_head, d_head, d_model); txw expects (6, 4) (n_head·d_head, d_model)"), "\(o)")
        // Any other shape: the plain message with the right expected shape.
        let other = try transpose { $0["blocks.0.W_V"]!.0 = [3, 4, 2] }
        #expect(other.contains("tensor 'blocks.0.W_V' has shape (3, 4, 2), expected (4, 3, 2)"), "\(other)")
    }
}
