package import CoreMetrics
public import Logging

/// Settings of a store's log writer.
public struct LogConfiguration: Sendable {
    /// When an append is acknowledged. Default `.fsync`.
    public var durability: Durability = .fsync
    /// A log file rolls once the next block would take it past this many bytes. Default 256 MiB.
    public var logFileBytes: Int = 256 << 20
    /// Raw (uncompressed) bytes of records per block before it is sealed. Default 64 KiB; a record larger
    /// than this gets a block of its own.
    public var blockBytes: Int = 64 << 10
    /// A WAL file rolls once the next frame would take it past this many bytes. Default 64 MiB.
    public var walFileBytes: Int = 64 << 20
    /// Largest encoded transaction accepted. Default 64 MiB.
    public var maxTransactionBytes: Int = 64 << 20
    /// Compress blocks with LZ4. Default true.
    public var compression: Bool = true
    /// How thoroughly open checks blocks that the block-index sidecar already describes.
    public var verifyOnOpen: VerifyDepth = .headers
    /// What open does with damage that is not a torn tail (valid data follows the bad bytes).
    public var corruptionPolicy: CorruptionPolicy = .fail
    /// The store clock: nanoseconds since the Unix epoch. Timestamps are `max(clock(), last + 1)`.
    public var clock: @Sendable () -> Int64 = { realtimeNanoseconds() }
    /// Where recovery reports what it cut (Warn) and lifecycle (Info).
    public var logger: Logger = Logger(label: "streamkit.logfiles")
    /// Start asynchronous write-back of the log after this many bytes, so checkpoints sync little. Default 4 MiB.
    package var writebackBytes: Int = 4 << 20
    /// The file-system seam (tests inject faults here).
    package var fileSystem: any FileSystem = PosixFileSystem()
    /// The backend of the writer's I/O metrics (``LogMetrics``); nil for the one bootstrapped with
    /// `MetricsSystem.bootstrap`. The engine passes its store's.
    package var metricsFactory: (any MetricsFactory)?

    /// The default settings.
    public init() {}

    /// How much of the already-indexed log to check on open.
    public enum VerifyDepth: Sendable {
        /// Compare each block header with its sidecar entry; fully check blocks the sidecar does not cover.
        case headers
        /// Read, CRC-check and decompress every block.
        case full
    }

    /// What to do on open when bytes in the middle of a file are damaged.
    public enum CorruptionPolicy: Sendable {
        /// Refuse to open with a `.corrupt` error naming the file and offset.
        case fail
        /// Cut the store at the damage (losing everything after it) and open, logging at Error.
        case truncate
    }
}
