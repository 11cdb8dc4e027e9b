#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// SIGINT and SIGTERM as a request to stop at the next safe point (txw-train:
/// between optimizer steps), and a second one as "stop now".
///
/// The only signal handling in the package, and its unsafe part: the
/// handler runs at an arbitrary instruction of an arbitrary thread, so it
/// does only what is async-signal-safe. It stores the signal number in an
/// atomic (lock-free, initialized before the handler is installed, so no
/// lazy global initialization can run inside the handler) and, for the
/// first signal only, puts back the default action of both signals with
/// `sigaction` (async-signal-safe, POSIX.1). The handler is installed
/// whatever the inherited action (also over an inherited "ignore"), and
/// both signals are unblocked in the calling thread. A second SIGINT or SIGTERM
/// then ends the process at once, as it would without the handler; what the
/// tool had written stays as it was (its files are replaced atomically, by
/// rename). `SA_RESTART` resumes system calls the signal interrupted, so
/// reads, writes and waits elsewhere never see `EINTR` from it.
package enum StopSignal {
    /// The first signal received since `install()`, 0 while none.
    private static let received = Atomic<Int32>(0)

    /// The signals handled.
    package static let signals: [Int32] = [SIGINT, SIGTERM]

    /// Installs the handler for SIGINT and SIGTERM (call once, before the
    /// work that checks `requested`).
    package static func install() {
        // Touch the atomic first: a global is initialized on first use, and
        // that must not happen inside the handler.
        received.store(0, ordering: .sequentiallyConsistent)
        for signal in signals { setAction(signal, handler: handle) }
        // A blocked signal is inherited from the parent (a thread of a
        // process that spawned this one may block them): unblocked here, so
        // the handler is reached at all.
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        _ = pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// The first SIGINT or SIGTERM received since `install()`, or nil.
    package static var requested: Int32? {
        let value = received.load(ordering: .sequentiallyConsistent)
        return value == 0 ? nil : value
    }

    /// The exit status of a process stopped by `signal`, as a shell reports
    /// one killed by it: 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
    package static func exitStatus(for signal: Int32) -> Int32 { 128 + signal }

    /// The handler: records the first signal and restores the default actions.
    private static let handle: @convention(c) (Int32) -> Void = { signal in
        if received.compareExchange(expected: 0, desired: signal, ordering: .sequentiallyConsistent).exchanged {
            // Two calls, no array: nothing in a handler may allocate.
            setAction(SIGINT, handler: nil)
            setAction(SIGTERM, handler: nil)
        }
    }

    /// `sigaction(signal)` with `handler` (nil: the default action), no
    /// signals blocked while it runs besides `signal` itself, and `SA_RESTART`.
    private static func setAction(_ signal: Int32, handler: (@convention(c) (Int32) -> Void)?) {
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = handler ?? SIG_DFL
        #else
        action.__sigaction_u.__sa_handler = handler ?? SIG_DFL
        #endif
        sigemptyset(&action.sa_mask)
        action.sa_flags = handler == nil ? 0 : SA_RESTART
        _ = sigaction(signal, &action, nil)
    }
}

/// SIGPIPE ignored, so that a write to a closed pipe fails with `EPIPE`:
/// `Console.out`/`Console.write` then throw, and the tool ends with one line
/// on stderr (`TOOL: cannot write to standard output (broken pipe)`) and exit
/// status 1 — never killed silently, never exit 0 with a lost result.
package enum BrokenPipe {
    /// Ignores SIGPIPE for this process (`ToolMain.main` calls it first).
    package static func reportAsWriteError() {
        _ = signal(SIGPIPE, SIG_IGN)
    }
}
