import SystemPackage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// errno → `TXWFormatError.io`, keeping the `Errno`.
enum SystemCall {
    /// The error of a failed system call on `path`; `code` defaults to the
    /// calling thread's `errno`, which must be read before any other call.
    static func error(path: String, operation: String, code: Int32 = errno) -> TXWFormatError {
        .io(path: path, operation: operation, errno: Errno(rawValue: code))
    }
}

extension SystemCall {
    /// The result of `body`, a swift-system call, whose failure becomes
    /// `TXWFormatError.io` on `path` (swift-system throws only `Errno`; were
    /// anything else thrown, it would be reported as `EIO`).
    @discardableResult
    static func run<R>(path: String, operation: String, _ body: () throws -> R) throws(TXWFormatError) -> R {
        do {
            return try body()
        } catch {
            throw .io(path: path, operation: operation, errno: error as? Errno ?? .ioError)
        }
    }
}

/// The memory limits of this process, for `MemoryBudget.systemDefault`: each
/// in bytes, nil when unknown or not set.
enum SystemMemory {
    struct Limits {
        var physical: Int?
        var cgroup: Int?
        var addressSpace: Int?
        var data: Int?
    }

    static func limits() -> Limits {
        Limits(physical: physicalBytes(), cgroup: cgroupLimit(),
               addressSpace: softLimit(resourceAddressSpace), data: softLimit(resourceData))
    }

    /// Physical memory: `_SC_PHYS_PAGES × _SC_PAGESIZE` (nil when unknown or overflowing).
    static func physicalBytes() -> Int? {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return nil }
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: pageSize)
        return overflow ? nil : bytes
    }

    #if os(Linux)
    static let resourceAddressSpace = Int32(RLIMIT_AS.rawValue)
    static let resourceData = Int32(RLIMIT_DATA.rawValue)
    #else
    static let resourceAddressSpace = RLIMIT_AS
    static let resourceData = RLIMIT_DATA
    #endif

    /// The soft limit of `resource`, nil when unlimited or unknown.
    static func softLimit(_ resource: Int32) -> Int? {
        var limit = rlimit()
        #if os(Linux)
        let status = getrlimit(__rlimit_resource_t(UInt32(resource)), &limit)
        #else
        let status = getrlimit(resource, &limit)
        #endif
        guard status == 0, limit.rlim_cur != rlim_t.max, limit.rlim_cur <= UInt64(Int.max) else { return nil }  // rlim_t.max: RLIM_INFINITY
        return Int(limit.rlim_cur)
    }

    /// The cgroup v2 limit, `/sys/fs/cgroup/memory.max` when it holds a
    /// number (not `max`); nil elsewhere (no cgroup v2, not Linux).
    static func cgroupLimit(path: String = "/sys/fs/cgroup/memory.max") -> Int? {
        #if os(Linux)
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        return parseLimit(String(decoding: buffer[..<n], as: UTF8.self))
        #else
        return nil
        #endif
    }

    /// A decimal byte count on the first line (nil for `max` or anything else).
    static func parseLimit(_ text: String) -> Int? {
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).first ?? ""
        guard let value = Int(line.trimmingSpaces), value > 0 else { return nil }
        return value
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while s.first == " " || s.first == "\t" || s.first == "\r" { s.removeFirst() }
        while s.last == " " || s.last == "\t" || s.last == "\r" { s.removeLast() }
        return s
    }
}
