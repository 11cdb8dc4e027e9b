import Testing
import TXWTestSupport

/// Every tool's --help names every flag.
struct HelpTests {
    static let flags: [(String, [String])] = [
        ("txw-pack", ["--output", "--random", "--from", "--vocab-size", "--d-model", "--n-head", "--d-head", "--d-mlp", "--n-block",
                      "--seed", "--dtype", "--level", "--no-shuffle", "--stored", "--block-size", "--vocab", "--char-vocab",
                      "--name", "--meta", "--force", "--json"]),
        ("txw-inspect", ["--verify", "--stats", "--dump", "--digest", "--expect-digest", "--json"]),
        ("txw-run", ["--sample", "--loss", "--logits", "--prompt", "--tokens", "--text", "--text-file", "-n", "-k", "-t",
                     "--seed", "--context", "--stride", "--precision", "--json", "--lens", "--cache", "--hooks", "--force", "--ablate",
                     "--ablate-mode"]),
        ("txw-train", ["--output", "--init", "--random", "--vocab-size", "--d-model", "--vocab", "--data", "--steps",
                       "--batch", "--context", "--lr", "--seed", "--eval-every", "--val-fraction", "--checkpoint-every",
                       "--stop-at", "--resume", "--force", "--json"]),
    ]

    @Test(arguments: 0..<4)
    func helpListsEveryFlag(index: Int) throws {
        let (name, flags) = Self.flags[index]
        let r = try tool(name, ["--help"])
        #expect(r.status == 0)
        for flag in flags { #expect(r.stdout.contains(flag + " ") || r.stdout.contains(flag + ","), "\(name) --help lacks \(flag)") }
        #expect(r.stdout.contains("Exit status"))
    }
}

/// Help, version and usage errors are written through the tools' console
/// (`ToolMain`): a failed write of the help is an error, not exit 0.
struct HelpOutputTests {
    static let tools = ["txw-pack", "txw-inspect", "txw-run", "txw-train"]

    @Test(arguments: tools)
    func helpAndVersionToAFile(name: String) throws {
        let help = try tool(name, ["--help"])
        #expect(help.status == 0 && help.stdout.hasPrefix("OVERVIEW: ") && help.stdout.contains("USAGE: \(name)") && help.stderr.isEmpty)
        let version = try tool(name, ["--version"])
        #expect(version.status == 0 && version.stdout == "\(name) (txw format 1.1)\n" && version.stderr.isEmpty, "\(version.stdout)")
    }

    /// stdout on /dev/full (opened for writing as the child's stdout; it is
    /// never given as a path): exit 1 and one line saying why.
    @Test(arguments: tools)
    func helpAndVersionToAFullDevice(name: String) throws {
        for flag in ["--help", "--version", "-h"] {
            let r = try tool(name, [flag], stdoutPath: "/dev/full")
            #expect(r.status == 1 && r.stderr == "\(name): cannot write to standard output (No space left on device)\n",
                    "\(name) \(flag): \(r.status) \(r.stderr)")
        }
    }

    /// A usage error keeps the parser's message and exit status 64, with the
    /// flag's value escaped.
    @Test func usageErrorsEscapeTheValue() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let r = try tool("txw-pack", ["-o", dir.file("x.txw"), "--random", "--dtype", "f\u{1b}]0;title\u{7}\n"])
        #expect(r.status == 64 && r.stdout.isEmpty)
        #expect(r.stderr.hasPrefix("Error: The value 'f\\u{1b}]0;title\\u{7}\\n' is invalid for '--dtype <dtype>'"), "\(r.stderr)")
        #expect(!r.stderr.utf8.contains(0x1B) && !r.stderr.utf8.contains(0x07) && r.stderr.contains("Usage: txw-pack"))
        let unknown = try tool("txw-inspect", [dir.file("m.txw"), "--no-such-flag"])
        #expect(unknown.status == 64 && unknown.stderr.hasPrefix("Error: Unknown option '--no-such-flag'"), "\(unknown.stderr)")
    }
}
