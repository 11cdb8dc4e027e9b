import ArgumentParser
import TXWFormat
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The entry point of every tool: parses the arguments, runs the command,
/// and renders the argument parser's own messages through `Console`.
///
/// swift-argument-parser's `main()` prints `--help` and `--version` with
/// `print`, which ignores a failed write: `txw-inspect --help >/dev/full`
/// would exit 0 with nothing written. Here the help and version text (and
/// any other clean exit's text) are a result: they go to stdout through
/// `Console.out`, and a failed write ends the tool with one line on stderr
/// (`TOOL: cannot write to standard output (REASON)`) and exit status 1.
/// Usage errors go to stderr with the parser's exit status (64), each line
/// escaped (`DisplayText`) since it may echo a flag's value. SIGPIPE is
/// ignored (`BrokenPipe`): a closed pipe is a failed write. Everything else
/// (exit statuses, messages) is as with the parser's `main()`.
///
/// A tool declares `static func main() { ToolMain.main(Self.self) }` beside
/// its `@main` attribute.
package enum ToolMain {
    /// Parses the process's arguments (or `arguments`) as `Command`, runs
    /// it, and exits.
    package static func main<Command: ParsableCommand>(_ command: Command.Type, arguments: [String]? = nil) -> Never {
        BrokenPipe.reportAsWriteError()
        do {
            var parsed = try Command.parseAsRoot(arguments)
            try parsed.run()
            exit(ExitCode.success.rawValue)
        } catch {
            exit(report(error, for: Command.self))
        }
    }

    /// Writes what the parser has to say about `error` (help, version, a
    /// usage error; nothing for an `ExitCode`) and returns the exit status.
    static func report<Command: ParsableCommand>(_ error: any Error, for command: Command.Type) -> Int32 {
        let code = Command.exitCode(for: error)
        let text = Command.fullMessage(for: error)
        guard !text.isEmpty else { return code.rawValue }
        if code == .success {
            do {
                try Console.out(text)
            } catch {
                Console.err(Diagnostics.line(tool: name(of: Command.self), error))
                return ExitCode.failure.rawValue
            }
        } else {
            // The message may echo a value with a newline in it: escape it
            // whole, then each line of the usage text around it.
            let message = Command.message(for: error)
            var shown = text
            if !message.isEmpty, let range = text.firstRange(of: message) {
                shown.replaceSubrange(range, with: DisplayText.escaped(message, .keepBackslashes))
            }
            let lines = shown.split(separator: "\n", omittingEmptySubsequences: false)
            Console.err(lines.map { DisplayText.escaped(String($0), .keepBackslashes) }.joined(separator: "\n"))
        }
        return code.rawValue
    }

    /// The tool's name as its messages begin: the configured command name.
    static func name<Command: ParsableCommand>(of command: Command.Type) -> String {
        Command.configuration.commandName ?? CommandLine.arguments.first ?? "txw"
    }

    /// The `--version` text of `tool`: its name and the txw format version
    /// it reads and writes (`txw-pack (txw format 1.1)`).
    package static func version(_ tool: String) -> String {
        "\(tool) (txw format \(FormatLimits.majorVersion).\(FormatLimits.minorVersion))"
    }
}
