#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Where the tools write: results to stdout, everything else to stderr.
public enum Console {
    /// A result line on stdout.
    public static func out(_ text: String, terminator: String = "\n") {
        FileHandle.standardOutput.write(Data((text + terminator).utf8))
    }

    /// A progress, warning or error line on stderr.
    public static func err(_ text: String, terminator: String = "\n") {
        FileHandle.standardError.write(Data((text + terminator).utf8))
    }

    /// True when stderr is a terminal (progress is shown only then).
    public static var stderrIsTerminal: Bool { isatty(2) == 1 }
}
