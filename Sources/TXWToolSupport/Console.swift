#if canImport(Glibc)
import Glibc
#endif

/// Where the tools write: results to stdout, everything else to stderr.
///
/// Each call is written at once with write(2), unbuffered, so results and
/// messages appear in the order the tool wrote them even when both streams
/// go to the same file.
public enum Console {
    /// A result line on stdout.
    public static func out(_ text: String, terminator: String = "\n") {
        writeAll(text + terminator, to: STDOUT_FILENO)
    }

    /// A progress, warning or error line on stderr.
    public static func err(_ text: String, terminator: String = "\n") {
        writeAll(text + terminator, to: STDERR_FILENO)
    }

    /// All of `text` to the file descriptor `fd`, resuming after partial writes
    /// and interruptions. A failed write (a closed pipe, a full disk) drops the
    /// rest: there is nowhere left to report it.
    static func writeAll(_ text: String, to fd: Int32) {
        var text = text
        text.withUTF8 { buffer in
            guard let base = buffer.baseAddress else { return }
            var written = 0
            while written < buffer.count {
                let n = write(fd, base + written, buffer.count - written)
                if n > 0 {
                    written += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }

    /// True when stderr is a terminal (progress is shown only then).
    public static var stderrIsTerminal: Bool { isatty(2) == 1 }
}
