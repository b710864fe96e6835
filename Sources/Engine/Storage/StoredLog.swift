public import StreamKitLogFiles

/// What a storage holds when it is opened, for the store to build its index from without reading entries: the
/// sealed blocks with their segment runs, the committed entries not sealed yet, and where the log ends.
public struct StoredLog: Sendable {
    /// Every sealed block, in log order.
    public var blocks: [SealedBlock]
    /// Committed entries after the last sealed block, in log order (a file log's WAL tail).
    public var tail: [Entry]
    /// The position the next appended entry gets.
    public var nextPosition: UInt64
    /// Timestamp of the last committed entry (0 for an empty log).
    public var lastTimestamp: Int64

    /// Creates the contents of a log.
    public init(blocks: [SealedBlock], tail: [Entry], nextPosition: UInt64, lastTimestamp: Int64) {
        self.blocks = blocks
        self.tail = tail
        self.nextPosition = nextPosition
        self.lastTimestamp = lastTimestamp
    }

    /// An empty log.
    public static let empty = StoredLog(blocks: [], tail: [], nextPosition: 1, lastTimestamp: 0)
}
