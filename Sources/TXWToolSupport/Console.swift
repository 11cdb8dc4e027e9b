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
/// go to the same file. Nothing is buffered, so there is nothing to flush at
/// exit: a result either reached stdout or `out` threw.
package enum Console {
    /// A result line on stdout. Throws when it cannot be written (a full
    /// disk, /dev/full, an I/O error): the tool then ends with one line on
    /// stderr and exit status 1 (`reportingErrors`), never with exit 0 and a
    /// lost result. A closed pipe is such a failure too (`EPIPE`: the tools
    /// ignore SIGPIPE, `BrokenPipe`).
    package static func out(_ text: String, terminator: String = "\n") throws {
        do {
            _ = try FileDescriptor.standardOutput.writeAll((text + terminator).utf8)
        } catch let errno as Errno {
            throw ToolFailure("cannot write to standard output (\(errno.description))")
        }
    }

    /// Bytes on stdout (`txw-pack -o -`), all of them or a throw, as `out`.
    package static func write(_ bytes: [UInt8]) throws {
        do {
            _ = try FileDescriptor.standardOutput.writeAll(bytes)
        } catch let errno as Errno {
            throw ToolFailure("cannot write to standard output (\(errno.description))")
        }
    }

    /// A progress, warning or error line on stderr.
    package static func err(_ text: String, terminator: String = "\n") {
        writeAll(text + terminator, to: .standardError)
    }

    /// All of `text` to the file descriptor `fd`, resuming after partial writes
    /// and interruptions (swift-system's `writeAll`). A failed write to stderr
    /// drops the rest: there is nowhere left to report it.
    static func writeAll(_ text: String, to fd: FileDescriptor) {
        _ = try? fd.writeAll(text.utf8)
    }

    /// True when stdout is a terminal (generated text is escaped only then).
    package static var stdoutIsTerminal: Bool { isatty(1) == 1 }

    /// True when stdin is a terminal (a model is not read from one).
    package static var stdinIsTerminal: Bool { isatty(0) == 1 }

    /// True when stderr is a terminal (progress is shown only then).
    package static var stderrIsTerminal: Bool { isatty(2) == 1 }
}
