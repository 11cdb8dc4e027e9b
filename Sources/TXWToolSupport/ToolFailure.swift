import ArgumentParser
import SystemPackage
import TXWFormat
import TXWKernels
import TXWModel

/// A one-line error of a tool: a message the tool phrased itself, or a
/// library's error about a file, rendered `path: message` by `Diagnostics`.
package struct ToolFailure: Error, CustomStringConvertible {
    package enum Reason: Sendable {
        /// A message phrased by the tool.
        case message(String)
        /// A library's error about the file at `path`.
        case file(path: String, error: any Error)
        /// The tool could not open `path` (open(2) failed with `errno`).
        case cannotOpen(path: String, errno: Errno)
        /// The input file at `path` was refused before it was read (`InputFile`).
        case inputFile(path: String, problem: InputFile.Problem)
    }

    package let reason: Reason

    /// A message phrased by the tool.
    package init(_ message: String) { reason = .message(message) }

    /// A library's `error` about the file at `path`.
    package init(path: String, _ error: any Error) { reason = .file(path: path, error: error) }

    /// The tool could not open `path`: open(2) failed with `errno`.
    package init(path: String, cannotOpen errno: Errno) { reason = .cannotOpen(path: path, errno: errno) }

    /// A failure for `reason`.
    package init(_ reason: Reason) { self.reason = reason }

    package var description: String { Diagnostics.message(for: self) }
}

/// Runs `body`; any error becomes one line `TOOL: message` on stderr and
/// exit status 1 (usage errors keep the argument parser's own status).
package func reportingErrors(tool: String, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch let error as ValidationError {
        throw error
    } catch {
        Console.err(Diagnostics.line(tool: tool, error))
        throw ExitCode.failure
    }
}

/// The message of any error the libraries or the tools throw (`Diagnostics.message(for:)`).
package func describe(_ error: any Error) -> String {
    Diagnostics.message(for: error)
}

/// Where every message a tool prints about an error is rendered.
///
/// The libraries' errors are typed values whose descriptions name what and
/// where but no command-line flag; this is the one place that knows the
/// tools' vocabulary: which flag a kernel argument came from, and that
/// `--force` replaces an existing output.
package enum Diagnostics {
    /// The line a tool writes to stderr for `error`: `TOOL: message`.
    ///
    /// Names, keys and paths are escaped where the message is composed
    /// (`DisplayText`, through the libraries' descriptions and
    /// `Formatting.name`); as a last guarantee the whole line is escaped
    /// again, keeping backslashes, so whatever a message embeds, the line
    /// holds no control character and no newline (the terminator is the
    /// caller's).
    package static func line(tool: String, _ error: any Error) -> String {
        DisplayText.escaped("\(tool): \(message(for: error))", .keepBackslashes)
    }

    /// The one-line message for `error` (without the `TOOL: ` prefix).
    package static func message(for error: any Error) -> String {
        switch error {
        case let failure as ToolFailure:
            switch failure.reason {
            case let .message(text): return text
            case let .file(path, error): return "\(Formatting.name(path)): \(message(for: error))"
            case let .cannotOpen(path, errno): return "\(Formatting.name(path)): cannot open the file (\(reason(errno)))"
            case let .inputFile(path, problem): return "\(Formatting.name(path)): \(message(for: problem))"
            }
        case let error as TXWFormatError: return message(for: error)
        case let error as ModelError: return message(for: error)
        case let error as ImportError: return error.description
        case let error as KernelError: return error.description
        case let error as CustomStringConvertible: return error.description
        default: return "\(error)"
        }
    }

    static func message(for error: TXWFormatError) -> String {
        switch error {
        case let .destinationExists(path): "\(Formatting.name(path)) exists (pass --force to replace it)"
        case let .overMemoryBudget(what, need, budget): memoryMessage(what: what, need: need, budget: budget)
        default: error.description
        }
    }

    /// `WHAT needs N bytes, over the memory budget of B bytes (--max-memory)`, numbers grouped.
    package static func memoryMessage(what: String, need: Int, budget: Int) -> String {
        let amount = need == .max ? "more than \(Formatting.grouped(Int.max))" : Formatting.grouped(need)
        return "\(what) needs \(amount) bytes, over the memory budget of \(Formatting.grouped(budget)) bytes (--max-memory)"
    }

    /// Why an input file was refused, after its path.
    static func message(for problem: InputFile.Problem) -> String {
        switch problem {
        case let .notRegularFile(kind): "not a regular file (\(kind))"
        case let .tooLarge(size, limit):
            "the file has \(Formatting.grouped(size)) bytes, more than the \(Formatting.grouped(limit)) an input file may have"
        case let .streamTooLarge(limit):
            "more than the \(Formatting.grouped(limit)) bytes an input may have (not read further)"
        case let .noWriter(seconds):
            "a FIFO with no writer (nothing opened it for writing within \(seconds) seconds)"
        case let .cannotRead(errno): "cannot read the file (\(reason(errno)))"
        }
    }

    static func message(for error: ModelError) -> String {
        switch error {
        case let .precision(_, _, precision, _) where precision != "f64":
            "\(error.description) (it fits f64: txw-run --precision f64 computes it)"
        default: error.description
        }
    }

    /// A failed system call's reason, in the tools' words for the common cases.
    static func reason(_ errno: Errno) -> String {
        switch errno {
        case .noSuchFileOrDirectory: "no such file"
        case .permissionDenied: "permission denied"
        default: errno.description
        }
    }

    /// The one warning line (without the `TOOL: ` prefix) for sampling that
    /// switched from the key/value cache to recomputing the whole sequence
    /// for every token: why, and the estimated cost of the tokens still to draw.
    package static func warning(for recomputation: TopKSampler.Recomputation, maskValue: Double) -> String {
        let r = recomputation
        let ratio = r.cachedMultiplyAdds > 0 ? r.multiplyAdds / r.cachedMultiplyAdds : 1
        return "warning: model.mask_value \(maskValue) gives masked positions a weight that is not 0 "
            + "(from position \(r.position)), so every token recomputes the whole sequence (the last C tokens with a context), as the notebook does: "
            + "about \(Formatting.short(r.multiplyAdds)) multiply-adds for the \(r.passes) tokens still to sample, "
            + "\(Formatting.short(ratio))× the \(Formatting.short(r.cachedMultiplyAdds)) of the key/value cache; "
            + "the tokens are exact, only slow"
    }

    /// The usage error for a kernel's refusal of a value given on the
    /// command line: `FLAG: message`, the flag found from the kernel's
    /// argument name (`d_model` → `--d-model`); `fallback` when the error
    /// names no argument the tools take as a flag.
    package static func usageError(_ error: KernelError, fallback: String) -> ValidationError {
        let flag: String
        switch error {
        case let .invalidArgument(name, _, _): flag = Self.flag(forKernelArgument: name) ?? fallback
        default: flag = fallback
        }
        return ValidationError("\(flag): \(error.description)")
    }

    /// The usage error for the container library's refusal of `flags`' values.
    package static func usageError(_ error: TXWFormatError, flags: String) -> ValidationError {
        ValidationError("\(flags): \(message(for: error))")
    }

    /// The command-line flag that sets the kernel argument `name`, if a tool has one.
    package static func flag(forKernelArgument name: String) -> String? {
        kernelArgumentFlags[name]
    }

    /// Kernel argument names (KernelError.invalidArgument's `name`) → the flag that sets them.
    static let kernelArgumentFlags: [String: String] = [
        "vocab_size": "--vocab-size", "d_model": "--d-model", "n_head": "--n-head", "d_head": "--d-head",
        "d_mlp": "--d-mlp", "n_block": "--n-block", "k": "-k", "temperature": "-t", "n": "-n",
    ]
}
