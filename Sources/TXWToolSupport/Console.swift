import SystemPackage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the tools write: results to stdout, everything else to stderr.
///
/// Each call is written at once with write(2), unbuffered, so results and
/// messages appear in the order the tool wrote them even when both streams
/// go to the same file.
package enum Console {
    /// A result line on stdout.
    package static func out(_ text: String, terminator: String = "\n") {
        writeAll(text + terminator, to: .standardOutput)
    }

    /// A progress, warning or error line on stderr.
    package static func err(_ text: String, terminator: String = "\n") {
        writeAll(text + terminator, to: .standardError)
    }

    /// All of `text` to the file descriptor `fd`, resuming after partial writes
    /// and interruptions (swift-system's `writeAll`). A failed write (a closed
    /// pipe, a full disk) drops the rest: there is nowhere left to report it.
    static func writeAll(_ text: String, to fd: FileDescriptor) {
        _ = try? fd.writeAll(text.utf8)
    }

    /// True when stderr is a terminal (progress is shown only then).
    package static var stderrIsTerminal: Bool { isatty(2) == 1 }
}
