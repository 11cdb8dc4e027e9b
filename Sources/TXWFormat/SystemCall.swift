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

    /// The smallest memory limit of the cgroups this process is in, and of
    /// their ancestors: for each line of `/proc/self/cgroup`, cgroup v2
    /// (`0::PATH`) reads `memory.max` under `/sys/fs/cgroup/PATH` and each
    /// parent up to `/sys/fs/cgroup`; cgroup v1 (a line whose controllers
    /// include `memory`) reads `memory.limit_in_bytes` under
    /// `/sys/fs/cgroup/memory/PATH` and its parents. `max` (v2) means no
    /// limit; v1's "unlimited" is a huge number, which physical memory
    /// undercuts. nil when nothing is known (not Linux, no cgroup files).
    /// (`membership` and `root` stand for `/proc/self/cgroup` and
    /// `/sys/fs/cgroup` in tests.)
    static func cgroupLimit(membership membershipPath: String = "/proc/self/cgroup", root: String = "/sys/fs/cgroup") -> Int? {
        #if os(Linux)
        var found: [Int] = []
        let membership = readSmallFile(membershipPath).map { String(decoding: $0, as: UTF8.self) } ?? ""
        var lines = membership.split(separator: "\n").map(String.init)
        if lines.isEmpty { lines = ["0::/"] }  // no /proc: the root's files, if any
        for line in lines.prefix(64) {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let (controllers, path) = (fields[1], String(fields[2]))
            let file: (root: String, name: String)
            if fields[0] == "0" && controllers.isEmpty {
                file = (root, "memory.max")
            } else if controllers.split(separator: ",").contains("memory") {
                file = (root + "/memory", "memory.limit_in_bytes")
            } else {
                continue
            }
            // PATH and each of its parents (at most 64 levels), then the root.
            var components = path.split(separator: "/").filter { $0 != "." && $0 != ".." }.prefix(64).map(String.init)
            while true {
                let directory = ([file.root] + components).joined(separator: "/")
                if let bytes = readSmallFile(directory + "/" + file.name),
                   let limit = parseLimit(String(decoding: bytes, as: UTF8.self)) {
                    found.append(limit)
                }
                if components.isEmpty { break }
                components.removeLast()
            }
        }
        return found.min()
        #else
        return nil
        #endif
    }

    /// The first 4 KiB of a regular file (procfs and cgroupfs files report
    /// size 0, so the read is bounded by the buffer); nil when it cannot be
    /// opened or is not a regular file. Opened without blocking.
    static func readSmallFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var count = 0
        while count < buffer.count {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            count += n
        }
        return Array(buffer[..<count])
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
