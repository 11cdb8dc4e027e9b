import Foundation
import Testing
import TXWFormat
import TXWKernels
import TXWModel
import TXWTestSupport
import TXWToolSupport

/// Issue 12, class 7: names, keys, values and tokens from a file never reach
/// the terminal raw. The files are valid (the format allows any UTF-8 in
/// names and strings, Spec/txw-format.md §1.3), so they are generated here
/// rather than kept in the conformance set, which holds files a reader must
/// refuse.
struct TerminalSafetyTests {
    /// A window title change, a screen clear, a forged line, a bidi override,
    /// C1 CSI, NUL and DEL.
    static let tokens = ["a", "\u{1b}]0;pwned\u{7}", "\u{1b}[2J\u{1b}[H", "\r\nOK, verified\n", "\u{202e}txt.exe",
                         "\u{9b}31m", "\u{0}\u{7f}", "tab\there\\"]
    static let metadata: [(String, MetadataValue)] = [
        ("k\u{1b}]0;title\u{7}", .string("\u{1b}[2J")),
        ("line\nbreak", .strings(["a\nb", "\u{9b}x", "\u{202e}y"])),
        ("\u{202e}rev", .string("\r OK, verified")),
        ("nul\u{0}key", .int(3)),
    ]
    static let tensorNames = ["W\n_E", "\u{1b}[31mred", "\u{202e}abc", "plain", "nul\u{0}\u{7f}", "sep\u{2028}x"]
    static let extraTensor = "extra\n\u{1b}[2J"

    /// Writes the hostile files: a model with hostile tokens and metadata,
    /// the same model with one more (hostile) tensor, and a container (not a
    /// model) with hostile tensor names.
    static func files(in dir: TemporaryDirectory) throws -> (model: String, extra: String, container: String) {
        var model = try ModelArrays.random(Hyperparameters(vocabSize: 8, dModel: 4, nHead: 1, dHead: 4, dMLP: 4, nBlock: 1), seed: 7)
        model.vocabulary = try Vocabulary(tokens)
        for (key, value) in metadata { model.metadata[key] = value }
        let paths = (model: dir.file("model.txw"), extra: dir.file("extra.txw"), container: dir.file("container.txw"))
        try model.writer(dtype: nil, options: TXWWriter.Options()).write(to: paths.model)
        var extra = try model.writer(dtype: nil, options: TXWWriter.Options())
        try extra.addTensor(name: extraTensor, dtype: .f32, shape: [2], bytes: ElementCoding.encode([Float(1), 2], as: .f32))
        try extra.write(to: paths.extra)
        var container = try TXWWriter()
        for (key, value) in metadata { try container.setMetadata(key, value) }
        for (i, name) in tensorNames.enumerated() {
            try container.addTensor(name: name, dtype: .f32, shape: [2, 3],
                                    bytes: ElementCoding.encode((0..<6).map { Float($0 + i) }, as: .f32))
        }
        try container.write(to: paths.container)
        return paths
    }

    /// True when `text` holds no scalar a terminal acts on or hides (the
    /// test's own list): C0 other than `allowed`, DEL, C1, bidi controls,
    /// zero-width and separator characters.
    static func isSafe(_ text: String, allowing allowed: Set<Unicode.Scalar> = ["\n"]) -> Bool {
        text.unicodeScalars.allSatisfy { s in
            if allowed.contains(s) { return true }
            let v = s.value
            if v < 0x20 || (0x7F...0x9F).contains(v) { return false }
            if (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) || (0x200B...0x200F).contains(v) { return false }
            return v != 0x2028 && v != 0x2029 && v != 0xFEFF
        }
    }

    /// The text is safe and holds no ESC or C1 CSI byte (checked on the bytes too).
    static func expectSafe(_ text: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let bytes = Array(text.utf8)
        #expect(isSafe(text) && !bytes.contains(0x1B) && !zip(bytes, bytes.dropFirst()).contains { $0 == (0xC2, 0x9B) },
                "\(what): \(text.debugDescription)", sourceLocation: sourceLocation)
    }

    /// One line on stderr: exactly one newline, at the end.
    static func expectOneLine(_ text: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectSafe(text, what, sourceLocation: sourceLocation)
        #expect(text.hasSuffix("\n") && text.filter { $0 == "\n" }.count == 1, "\(what): \(text.debugDescription)",
                sourceLocation: sourceLocation)
    }

    @Test func inspectTextIsEscaped() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let paths = try Self.files(in: dir)

        let model = try tool("txw-inspect", [paths.model])
        #expect(model.status == 0, "\(model.stderr)")
        Self.expectSafe(model.stdout, "model summary")
        for visible in ["k\\u{1b}]0;title\\u{7} = \"\\u{1b}[2J\"", "line\\nbreak = [\"a\\nb\", \"\\u{9b}x\", \"\\u{202e}y\"]",
                        "\\u{202e}rev = \"\\r OK, verified\"", "nul\\u{0}key = 3",
                        "\"\\u{1b}]0;pwned\\u{7}\" \"\\u{1b}[2J\\u{1b}[H\" \"\\r\\nOK, verified\\n\" \"\\u{202e}txt.exe\" \"\\u{9b}31m\" \"\\u{0}\\u{7f}\" \"tab\\there\\\\\""] {
            #expect(model.stdout.contains(visible), "lacks \(visible): \(model.stdout)")
        }
        #expect(!model.stdout.contains("\nOK, verified"))

        for arguments in [[paths.container], [paths.container, "--stats"]] {
            let r = try tool("txw-inspect", arguments)
            #expect(r.status == 0, "\(r.stderr)")
            Self.expectSafe(r.stdout, "\(arguments)")
            // One table row per tensor, each name escaped, and the columns
            // after the name aligned on what is printed.
            let lines = r.stdout.split(separator: "\n").map(String.init)
            let escaped = ["W\\n_E", "\\u{1b}[31mred", "\\u{202e}abc", "plain", "nul\\u{0}\\u{7f}", "sep\\u{2028}x"]
            let rows = escaped.map { name in lines.filter { $0.hasPrefix(name + " ") } }
            #expect(rows.allSatisfy { $0.count == (arguments.count == 1 ? 1 : 2) }, "\(r.stdout)")
            let dtypeColumns = Set(rows.map { $0[0] }.map { $0.distance(from: $0.startIndex, to: $0.range(of: "f32")!.lowerBound) })
            #expect(dtypeColumns.count == 1, "\(r.stdout)")
            if arguments.count == 2 {
                // The --stats table: the min column (a right-aligned number) ends at one column.
                let statRows = rows.map { $0[1] }
                let ends = Set(statRows.map { row -> Int in
                    let afterName = row.drop(while: { $0 != " " }).drop(while: { $0 == " " })
                    return row.count - afterName.count + (afterName.firstIndex(of: " ").map { afterName.distance(from: afterName.startIndex, to: $0) } ?? 0)
                })
                #expect(ends.count == 1, "\(r.stdout)")
            }
        }
    }

    @Test func verifyAndDumpMessagesAreEscaped() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let paths = try Self.files(in: dir)
        // Damage the first block of every tensor: one DAMAGED line each.
        let reader = try TXWReader(path: paths.container)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: paths.container))
        for t in reader.tensors { bytes[t.blocks[0].offset] ^= 0x40 }
        let damaged = dir.file("damaged.txw")
        try bytes.write(to: URL(fileURLWithPath: damaged))
        let verify = try tool("txw-inspect", [damaged, "--verify"])
        #expect(verify.status == 1)
        Self.expectSafe(verify.stdout, "--verify")
        let lines = verify.stdout.split(separator: "\n")
        #expect(lines.count == Self.tensorNames.count && lines.allSatisfy { $0.hasPrefix("DAMAGED ") }, "\(verify.stdout)")
        #expect(verify.stdout.contains("tensor 'W\\n_E' block 0") && verify.stdout.contains("tensor '\\u{1b}[31mred' block 0"))
        Self.expectOneLine(verify.stderr, "--verify stderr")

        // --verify --json names each damaged tensor as it is in the file.
        let json = try tool("txw-inspect", [damaged, "--verify", "--json"])
        Self.expectSafe(json.stdout, "--verify --json")
        let problems = try #require(try jsonObject(json.stdout)["problems"] as? [[String: Any]])
        #expect(problems.compactMap { $0["tensor"] as? String } == Self.tensorNames)

        let dump = try tool("txw-inspect", [paths.container, "--dump", "no\u{1b}[2Jpe"])
        #expect(dump.status == 1 && dump.stdout.isEmpty)
        Self.expectOneLine(dump.stderr, "--dump")
        #expect(dump.stderr.contains("no tensor named 'no\\u{1b}[2Jpe' (tensors: W\\n_E, \\u{1b}[31mred, \\u{202e}abc, plain,"),
                "\(dump.stderr)")
    }

    /// Every tool that refuses the model names the hostile tensor in one escaped line.
    @Test func errorLinesAreOneEscapedLine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let paths = try Self.files(in: dir)
        try "aaaa".write(toFile: dir.file("d.txt"), atomically: true, encoding: .utf8)
        let runs: [(String, [String])] = [
            ("txw-run", [paths.extra, "--tokens", "1"]),
            ("txw-pack", ["--from", paths.extra, "-o", dir.file("out.txw")]),
            ("txw-train", ["--init", paths.extra, "-o", dir.file("out.txw"), "--data", dir.file("d.txt"), "--steps", "1"]),
        ]
        for (name, arguments) in runs {
            let r = try tool(name, arguments)
            #expect(r.status == 1, "\(name): \(r.stderr)")
            Self.expectOneLine(r.stderr, name)
            #expect(r.stderr.contains("unexpected tensor 'extra\\n\\u{1b}[2J'"), "\(name): \(r.stderr)")
        }
        // A path given on the command line is echoed escaped, too.
        let missing = dir.file("no\nsuch\u{1b}]0;x\u{7}.txw")
        for (name, arguments) in [("txw-inspect", [missing]), ("txw-run", [missing]), ("txw-pack", ["--from", missing, "-o", dir.file("o.txw")])] {
            let r = try tool(name, arguments)
            #expect(r.status == 1, "\(name): \(r.stderr)")
            Self.expectOneLine(r.stderr, name)
            #expect(r.stderr.contains("no\\nsuch\\u{1b}]0;x\\u{7}.txw"), "\(name): \(r.stderr)")
        }
        // A text no token matches: the character is quoted escaped.
        let tokenize = try tool("txw-run", [paths.model, "--loss", "--text", "a\u{1b}[2J"])
        #expect(tokenize.status == 1)
        Self.expectOneLine(tokenize.stderr, "tokenize")
        // The last guarantee: whatever a message holds, the error line is one line.
        let line = Diagnostics.line(tool: "t", ToolFailure("a\nb\u{1b}[2J\r\u{202e}\u{9b}\u{85}c"))
        #expect(Self.isSafe(line, allowing: []) && line == "t: a\\nb\\u{1b}[2J\\r\\u{202e}\\u{9b}\\u{85}c")
    }

    /// --json keeps every string exactly (a JSON parser reads back the
    /// file's names, keys, values and tokens), and the JSON text itself is
    /// printable: non-printing characters are `\u` escapes.
    @Test func jsonRoundTripsHostileStrings() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let paths = try Self.files(in: dir)

        let model = try tool("txw-inspect", [paths.model, "--json"])
        #expect(model.status == 0, "\(model.stderr)")
        Self.expectSafe(model.stdout, "model --json")
        #expect(!model.stdout.contains("\n") || model.stdout.firstIndex(of: "\n") == model.stdout.index(before: model.stdout.endIndex))
        let object = try jsonObject(model.stdout)
        let vocabulary = try #require(object["vocabulary"] as? [String: Any])
        #expect(vocabulary["preview"] as? [String] == Self.tokens)
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["k\u{1b}]0;title\u{7}"] as? String == "\u{1b}[2J")
        #expect(metadata["line\nbreak"] as? [String] == ["a\nb", "\u{9b}x", "\u{202e}y"])
        #expect(metadata["\u{202e}rev"] as? String == "\r OK, verified")
        #expect(metadata["nul\u{0}key"] as? Int == 3)

        let container = try tool("txw-inspect", [paths.container, "--json", "--stats"])
        Self.expectSafe(container.stdout, "container --json")
        let tensors = try #require(try jsonObject(container.stdout)["tensors"] as? [[String: Any]])
        #expect(tensors.compactMap { $0["name"] as? String } == Self.tensorNames)

        // The escapes are JSON's own: a parser other than Foundation's reads the same strings.
        if let python = ProcessInfo.processInfo.environment["TXW_PYTHON"] {
            try container.stdout.write(toFile: dir.file("c.json"), atomically: true, encoding: .utf8)
            let script = """
                import json, sys
                d = json.load(open(sys.argv[1], encoding="utf-8"))
                print(json.dumps([t["name"] for t in d["tensors"]], ensure_ascii=True))
                """
            let r = try runProcess(URL(fileURLWithPath: python), ["-c", script, dir.file("c.json")])
            #expect(r.status == 0, "\(r.stderr)")
            let parsed = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String]
            #expect(parsed == Self.tensorNames)
        }
    }

    /// --sample writes the tokens' text unchanged to a file or a pipe (it is
    /// the result); on a terminal it escapes what the terminal would act on.
    @Test func sampleTextIsUnchangedOnAPipe() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let paths = try Self.files(in: dir)
        let arguments = [paths.model, "--sample", "-n", "48", "-k", "8", "-t", "2", "--tokens", "0"]
        let text = try tool("txw-run", arguments)
        let json = try tool("txw-run", arguments + ["--json"])
        #expect(text.status == 0 && json.status == 0, "\(text.stderr) \(json.stderr)")
        let object = try jsonObject(json.stdout)
        let ids = try #require(object["tokens"] as? [Int])
        let decoded = ids.map { Self.tokens[$0] }.joined()
        #expect(object["text"] as? String == decoded)
        #expect(text.stdout == decoded + "\n")
        #expect(decoded.contains("\u{1b}"), "the sample should hold a hostile token: \(ids)")
        Self.expectSafe(json.stdout, "--sample --json")
    }

    @Test func generatedTextOnATerminal() {
        let text = "ok\n\tline\\ \u{1b}]0;t\u{7}\r\u{202e}\u{9b}2J\u{0}é🙂"
        #expect(Formatting.generatedText(text, isTerminal: false) == text)
        let shown = Formatting.generatedText(text, isTerminal: true)
        #expect(shown == "ok\n\tline\\ \\u{1b}]0;t\\u{7}\\r\\u{202e}\\u{9b}2J\\u{0}é🙂")
        #expect(Self.isSafe(shown, allowing: ["\n", "\t"]))
    }

    /// The libraries' own descriptions (what a library user prints) are one printable line.
    @Test func libraryErrorDescriptions() {
        let h = "n\n\u{1b}[2J\u{202e}\u{9b}"
        let model: [ModelError] = [
            .missingKey(h), .wrongType(key: h, expected: h, found: h), .outOfRange(key: h, value: h, requirement: h),
            .unknownModelKey(h), .keyNeedsVersion(key: h, since: FormatVersion(major: 1, minor: 1), found: FormatVersion(major: 1, minor: 0)),
            .missingTensor(h), .unexpectedTensor(h), .shapeMismatch(tensor: h, expected: [1], found: [2]),
            .vocabulary(h), .reservedKey(h),
        ]
        let imports: [ImportError] = [
            .io(path: h, operation: h, errno: .ioError), .notRegularFile(path: h, operation: h, isDirectory: true),
            .unrecognizedFormat(path: h, found: [1]), .truncated(what: h, offset: 0, needed: 1, available: 0),
            .malformed(what: h, offset: 0, expected: h, found: h), .unsupported(what: h, offset: 0, feature: h),
            .unsupportedDType(what: h, offset: 0, dtype: h), .invalidShape(what: h, offset: 0, shape: [1], detail: h),
            .sizeMismatch(what: h, offset: 0, expected: 1, found: 2), .checksum(what: h, offset: 0, expected: 1, found: 2),
            .duplicateName(what: h, name: h, offset: 0), .invalidUTF8(what: h, offset: 0), .inflate(what: h, offset: 0, detail: h),
            .layout(what: h, offset: 0, detail: h), .limit(what: h, offset: 0, value: h, limit: h),
        ]
        for d in model.map(\.description) + imports.map(\.description) {
            #expect(Self.isSafe(d, allowing: []) && d.contains("n\\n\\u{1b}[2J\\u{202e}\\u{9b}"), "\(d.debugDescription)")
        }
        // A token in a vocabulary message is quoted with its escapes.
        #expect(throws: ModelError.vocabulary("token 1 \"\\u{1b}x\" repeats token 0")) { try Vocabulary(["\u{1b}x", "\u{1b}x"]) }
    }
}
