public import StreamKitLogFiles

/// Retention and compaction run in the background while a store is open, every ``interval``: the policy
/// (``Store/applyRetention(_:)``) when it has a bound, then compaction (``Store/compact(bytesPerSecond:)``) when
/// ``compacts``. Only storages that keep files act on them.
public struct RetentionConfiguration: Sendable {
    /// What may go: entries older than `maxAge`, and the oldest log files while the log is over `maxBytes`.
    public var policy: LogRetention.Policy
    /// How often the policy and compaction run. Default 60 s; zero or less runs neither.
    public var interval: Duration
    /// Whether deleted entries are erased from the files in the background. Default true.
    public var compacts: Bool
    /// The most bytes per second compaction reads and writes (nil: no bound). Default 64 MiB/s.
    public var compactionBytesPerSecond: Int64?

    /// Creates a configuration; the default keeps every entry and erases deleted ones every minute.
    public init(
        policy: LogRetention.Policy = .init(), interval: Duration = .seconds(60), compacts: Bool = true,
        compactionBytesPerSecond: Int64? = 64 << 20
    ) {
        self.policy = policy
        self.interval = interval
        self.compacts = compacts
        self.compactionBytesPerSecond = compactionBytesPerSecond
    }

    /// Whether the policy has a bound (and the interval is positive).
    public var isEnabled: Bool {
        (policy.maxAge != nil || policy.maxBytes != nil || policy.maxEntriesPerSegment != nil) && interval > .zero
    }

    /// Whether the background task runs: the policy has a bound, or compaction is on and the storage compacts.
    func runsInBackground(compacting storageCompacts: Bool) -> Bool {
        isEnabled || (interval > .zero && compacts && storageCompacts)
    }
}
