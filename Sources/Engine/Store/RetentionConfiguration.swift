public import StreamKitLogFiles

/// Retention and compaction run in the background while a store is open, every ``interval``: the store's policy
/// (``Store/applyRetention(_:)``) when it has a bound — its own (``Store/setRetentionPolicy(_:)``) or else
/// ``policy`` — then compaction (``Store/compact(bytesPerSecond:)``) when ``compacts``.
public struct RetentionConfiguration: Sendable {
    /// What may go, for stores without a policy of their own: entries older than `maxAge`, the oldest log files
    /// while the log is over `maxBytes`, each segment's entries but its newest `maxEntriesPerSegment`.
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

    /// Whether the default policy has a bound (and the interval is positive).
    public var isEnabled: Bool { policy.hasBounds && interval > .zero }

    /// Whether the background task runs: the interval is positive (a store may get a policy of its own at any
    /// time; a pass with nothing to do costs a look at the policy and the deletions).
    var runsInBackground: Bool { interval > .zero }
}
