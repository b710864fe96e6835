/// The sizes and counts a decoder accepts (and an encoder refuses to exceed), so hostile input can never make a
/// peer allocate without bound.
///
/// Every check happens **before** anything is allocated for the declared size or count. The defaults suit the
/// engine's own defaults (4 MiB payloads, 10,000 records per transaction, 256-byte names) with headroom.
public struct WireLimits: Hashable, Sendable {
    /// Most bytes a frame's body may have as carried (compressed or not). Default 8 MiB.
    public var maxFrameBytes: Int
    /// Most bytes a message body may have after decompression. Default 8 MiB.
    public var maxMessageBytes: Int
    /// Most records or entries in one batch message. Default 10,000.
    public var maxBatchCount: Int
    /// Most UTF-8 bytes in one string (a name, a metadata key or value, an error message). Default 64 KiB.
    public var maxStringBytes: Int
    /// Most key–value pairs in one metadata map. Default 1,024.
    public var maxMetadataPairs: Int
    /// Most elements in any other list (names, features, spaces of a multi-space read, workers). Default 100,000.
    public var maxListCount: Int

    /// Creates limits; every argument has a safe default.
    ///
    /// - Parameters:
    ///   - maxFrameBytes: Most bytes in a frame body as carried.
    ///   - maxMessageBytes: Most bytes in a message body after decompression (at most `Int32.max`, LZ4's limit).
    ///   - maxBatchCount: Most records or entries per batch.
    ///   - maxStringBytes: Most UTF-8 bytes per string.
    ///   - maxMetadataPairs: Most pairs per metadata map.
    ///   - maxListCount: Most elements in other lists.
    public init(
        maxFrameBytes: Int = 8 << 20, maxMessageBytes: Int = 8 << 20, maxBatchCount: Int = 10_000,
        maxStringBytes: Int = 64 << 10, maxMetadataPairs: Int = 1_024, maxListCount: Int = 100_000
    ) {
        self.maxFrameBytes = max(0, maxFrameBytes)
        self.maxMessageBytes = min(max(0, maxMessageBytes), Int(Int32.max))
        self.maxBatchCount = max(0, maxBatchCount)
        self.maxStringBytes = max(0, maxStringBytes)
        self.maxMetadataPairs = max(0, maxMetadataPairs)
        self.maxListCount = max(0, maxListCount)
    }
}
