/// Everything an `.npz` or `.safetensors` file holds for a model: its arrays
/// and its string metadata (`ArrayImporter.readFile(path:memoryBudget:)`).
public struct ImportedFile: Sendable {
    /// The two array formats.
    public enum Format: String, Sendable {
        /// A numpy `.npz` archive.
        case npz
        /// A `.safetensors` file.
        case safetensors
    }

    /// Which format the file is (judged by content).
    public let format: Format
    /// The arrays, as `ArrayImporter.read(path:)` returns them (the npz
    /// metadata member is not among them).
    public let arrays: [ImportedArray]
    /// A safetensors file's `__metadata__`, or the map of an npz's
    /// `__txw_metadata__.npy` member (`ExchangeMetadata`); empty when absent.
    public let metadata: [String: String]

    /// A file's parts, unchecked.
    package init(format: Format, arrays: [ImportedArray], metadata: [String: String]) {
        self.format = format
        self.arrays = arrays
        self.metadata = metadata
    }
}
