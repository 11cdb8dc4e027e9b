#if os(Linux)  // /proc/self/smaps is Linux-only
import Glibc

/// The VmFlags of the mapping holding `address`, from /proc/self/smaps.
public func mappingFlags(at address: UInt) -> [String]? {
    // /proc files report size 0: read them to the end.
    guard let file = fopen("/proc/self/smaps", "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    let smaps = String(decoding: bytes, as: UTF8.self)
    var inside = false
    for line in smaps.split(separator: "\n") {
        let fields = line.split(separator: " ")
        if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
            let bounds = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
            inside = bounds.count == 2 && bounds[0] <= address && address < bounds[1]
        } else if inside, line.hasPrefix("VmFlags:") {
            return fields.dropFirst().map(String.init)
        }
    }
    return nil
}
#endif
