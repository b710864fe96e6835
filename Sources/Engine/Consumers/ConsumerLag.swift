/// How far a durable consumer is behind the head of what it reads.
public struct ConsumerLag: Sendable, Hashable {
    /// Entries after the consumer's position (0: caught up).
    public var entries: Int
    /// Commit time of the newest entry it reads minus that of the last one it acknowledged, in nanoseconds (0 when
    /// caught up; the whole age of the newest entry when it acknowledged nothing yet).
    public var nanoseconds: Int64

    /// Describes a lag.
    public init(entries: Int, nanoseconds: Int64) {
        self.entries = entries
        self.nanoseconds = nanoseconds
    }

    /// The time behind.
    public var duration: Duration { .nanoseconds(nanoseconds) }
}
