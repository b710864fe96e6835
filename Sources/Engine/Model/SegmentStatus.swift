/// Where a segment stands: its first and last sequence and their commit timestamps.
public struct SegmentStatus: Sendable, Hashable {
    /// The space.
    public var space: String
    /// The segment.
    public var segment: String
    /// The segment's first sequence (or, in a produce acknowledgement, the transaction's first).
    public var firstSequence: UInt64
    /// Commit timestamp of `firstSequence`, nanoseconds since the Unix epoch.
    public var firstTimestamp: Int64
    /// The segment's last sequence (or, in a produce acknowledgement, the transaction's last).
    public var lastSequence: UInt64
    /// Commit timestamp of `lastSequence`.
    public var lastTimestamp: Int64
    /// True for a subscription heartbeat (no change; the other fields repeat the last known status).
    public var isHeartbeat: Bool

    /// Creates a status.
    public init(
        space: String, segment: String, firstSequence: UInt64, firstTimestamp: Int64, lastSequence: UInt64,
        lastTimestamp: Int64, isHeartbeat: Bool = false
    ) {
        self.space = space
        self.segment = segment
        self.firstSequence = firstSequence
        self.firstTimestamp = firstTimestamp
        self.lastSequence = lastSequence
        self.lastTimestamp = lastTimestamp
        self.isHeartbeat = isHeartbeat
    }
}
