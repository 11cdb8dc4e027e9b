import ArgumentParser
import TXWFormat
import TXWKernels
import TXWModel

/// A one-line error of a tool, already phrased for a human.
public struct ToolFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Runs `body`; any error becomes one line `TOOL: message` on stderr and
/// exit status 1 (usage errors keep the argument parser's own status).
public func reportingErrors(tool: String, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch let error as ValidationError {
        throw error
    } catch {
        Console.err("\(tool): \(describe(error))")
        throw ExitCode.failure
    }
}

/// The message of any error the libraries throw.
public func describe(_ error: any Error) -> String {
    switch error {
    case let e as CustomStringConvertible: return e.description
    default: return "\(error)"
    }
}
