#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TXWFormat
import TXWModel

/// Feeds one input to everything that parses untrusted bytes: the container
/// reader (open, verify, read each tensor), the model profile and loader,
/// and the npz/safetensors importers. Any crash, hang, leak or out-of-bounds
/// access is a bug; thrown errors are the expected outcome.
func exercise(_ bytes: [UInt8]) {
    if let reader = try? TXWReader(bytes: bytes, name: "fuzz") {
        _ = reader.verify()
        _ = try? reader.readAllBytes()
        _ = try? ModelFile.load(reader, as: Float.self)
        _ = try? ModelArrays(reader: reader)
    }
    if let arrays = try? ArrayImporter.read(bytes: bytes, name: "fuzz") {
        _ = try? ModelArrays(arrays: arrays)
    }
}

#if TXW_FUZZING
/// The libFuzzer entry point (built by tools/fuzz with -sanitize=fuzzer,address).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    exercise(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// SwiftPM links an executable's entry point under this name; it hands the
/// command line to libFuzzer's driver.
@_cdecl("txw_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in fuzzOne(data, size) }
}
#else
/// Without libFuzzer: runs the files given as arguments (a corpus, or a
/// crash input to reproduce) through the same code.
@main
struct CorpusRunner {
    static func main() {
        var count = 0
        for path in CommandLine.arguments.dropFirst() {
            guard let file = try? MappedFile(path: path) else {
                let message = Array("txw-fuzz: cannot read \(path)\n".utf8)
                _ = message.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
                continue
            }
            exercise([UInt8](file.bytes))
            count += 1
        }
        print("ran \(count) inputs")
    }
}
#endif
