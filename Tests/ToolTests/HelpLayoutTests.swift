import Foundation
import Testing
import TXWTestSupport

/// Help texts have no stray padding: whatever the terminal width, no line of
/// prose holds a run of two or more spaces. The only runs allowed are the
/// indentation and the gap between an option's synopsis and its help.
struct HelpLayoutTests {
    static let commands: [(String, [String])] = [
        ("txw-pack", []), ("txw-inspect", []), ("txw-run", []), ("txw-train", []), ("txw-bench", []),
        ("txw-bench", ["forward"]), ("txw-bench", ["loss"]), ("txw-bench", ["sample"]), ("txw-bench", ["load"]), ("txw-bench", ["train"]), ("txw-bench", ["gemm"]),
    ]

    /// `line` without its indentation and, for an option or argument line
    /// (`-x`, `--flag <value>`, `<model>`), without the gap after its synopsis.
    static func prose(_ line: Substring) -> Substring {
        var rest = line.drop { $0 == " " }
        if rest.first == "-" || rest.first == "<", let gap = rest.firstRange(of: "  ") {
            rest = rest[gap.upperBound...].drop { $0 == " " }
        }
        return rest
    }

    @Test(arguments: [50, 80, 200])
    func noRunsOfSpacesInHelpProse(columns: Int) throws {
        for (name, subcommand) in Self.commands {
            let r = try tool(name, subcommand + ["--help"], environment: ["COLUMNS": "\(columns)", "PATH": "/usr/bin:/bin"])
            #expect(r.status == 0, "\(name) \(subcommand): \(r.stderr)")
            for line in r.stdout.split(separator: "\n") {
                let text = Self.prose(line)
                #expect(!text.contains("  "), "\(name) \(subcommand) --help (COLUMNS=\(columns)): '\(line)'")
                #expect(!text.hasSuffix(" "), "\(name) \(subcommand) --help (COLUMNS=\(columns)): trailing space: '\(line)'")
            }
        }
    }

    /// The README's "Shell completions" commands run as written (HOME a
    /// fresh directory, the built tools on PATH) and leave a script per tool
    /// and shell that completes the tool's flags.
    @Test func readmeCompletionCommandsWork() throws {
        let script = try ReadmeWalkthroughTests.block(after: "### Shell completions")
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try ("set -euo pipefail\n" + script + "\n").write(toFile: dir.file("completions.sh"), atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = binDirectory.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["HOME"] = dir.path
        let r = try runProcess(URL(fileURLWithPath: "/bin/bash"), [dir.file("completions.sh")], environment: environment)
        #expect(r.status == 0, "\(r.stderr)")
        for t in ["txw-pack", "txw-inspect", "txw-run", "txw-train"] {
            for path in [".local/share/bash-completion/completions/\(t)", ".zfunc/_\(t)", ".config/fish/completions/\(t).fish"] {
                let text = (try? String(contentsOfFile: dir.file(path), encoding: .utf8)) ?? ""
                #expect(text.contains(t) && text.contains("max-memory"), "\(path): \(text.prefix(80))")
            }
        }
    }

    /// One version string for every tool, from one place: `NAME (txw format X.Y)`.
    @Test func everyToolPrintsTheSameVersion() throws {
        var versions: Set<String> = []
        for name in ["txw-pack", "txw-inspect", "txw-run", "txw-train", "txw-bench"] {
            let r = try tool(name, ["--version"])
            #expect(r.status == 0)
            let line = r.stdout.trimmingCharacters(in: .newlines)
            #expect(line.hasPrefix(name + " (txw format "), "\(name): \(line)")
            versions.insert(String(line.dropFirst(name.count)))
        }
        #expect(versions.count == 1, "\(versions)")
    }
}
