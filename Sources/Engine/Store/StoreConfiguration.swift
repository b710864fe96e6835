public import Logging
public import Metrics
public import StreamKitLogFiles

/// Settings of a store: durability and file layout (through ``log``), limits, and memory budgets.
public struct StoreConfiguration: Sendable {
    /// Log settings: durability (default `.fsync`), file and block sizes. Used by the file log.
    public var log = LogConfiguration()
    /// Most records per transaction; longer produces are cut into several transactions. Default 10,000.
    public var maxRecordsPerTransaction = 10_000
    /// Most payload bytes per transaction (a single larger record gets a transaction of its own, up to
    /// ``maxPayloadBytes``). Default 4 MiB.
    public var maxTransactionBytes = 4 << 20
    /// Largest payload of one record. Default 4 MiB.
    public var maxPayloadBytes = 4 << 20
    /// Longest space or segment name in UTF-8 bytes. Default 256.
    public var maxNameBytes = 256
    /// Most metadata pairs per record. Default 64.
    public var maxMetadataPairs = 64
    /// Most metadata bytes per record (UTF-8 of every key and value). Default 64 KiB. With the payload limit it
    /// keeps every entry within what one WebSocket message carries, so whatever a store accepts can be read
    /// over the wire too.
    public var maxMetadataBytes = 64 << 10
    /// Memory for recent entries kept decoded in memory (the tail). Default 64 MiB.
    public var tailBytes = 64 << 20
    /// Memory for decoded blocks read back from the log. Default 64 MiB.
    public var blockCacheBytes = 64 << 20
    /// Entries a reader fetches per round trip to the store. Default 1,024.
    public var readBatchSize = 1024
    /// Most times a publish tries again on the new head after another process took the sequence it reserved
    /// (only over a log shared by several processes, such as PostgreSQL); then it fails with `storeUnavailable`.
    /// Default 100.
    public var publishAttempts = 100
    /// Over a log shared by several processes: how often a store looks for other processes' commits when the log
    /// sends no notification (notifications usually bring them within milliseconds). Default 1 second.
    public var followPollInterval: Duration = .seconds(1)
    /// How long a durable consumer's deferred acknowledgements (automatic, per batch) may wait before the store
    /// records them; a crash loses at most this much of their progress (the entries are delivered again). Default
    /// 1 second.
    public var consumerFlushInterval: Duration = .seconds(1)
    /// The background scrub that finds damaged blocks in the log without waiting for a reader (file log only).
    public var scrub = ScrubConfiguration()
    /// Retention applied in the background while the store is open (file log only; off by default).
    public var retention = RetentionConfiguration()
    /// Monotonic time for leases, worker presence and heartbeats.
    public var clock: EngineClock = .system
    /// Lifecycle at Info, degraded operation at Warn, failures at Error.
    public var logger = Logger(label: "streamkit.engine")
    /// The swift-metrics backend of the store's metrics (`streamkit_storage_*`, see `docs/operations.md`); nil
    /// (the default) uses the one bootstrapped with `MetricsSystem.bootstrap`.
    public var metricsFactory: (any MetricsFactory)?

    /// The default settings.
    public init() {}
}
