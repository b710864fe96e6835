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
    /// Segments none of whose entries is left (all dropped by retention), with their last sequence: producing
    /// to one continues after it, as if its entries were there.
    public var retired: [StoreManifest.RetiredSegment]
    /// The position of the log's first entry: 1, or later once retention dropped the entries before it.
    public var logStart: UInt64
    /// Deletions whose entries may still be in the log: the store leaves them out of every read.
    public var deletions: [StoreManifest.Deletion]

    /// Creates the contents of a log.
    public init(
        blocks: [SealedBlock], tail: [Entry], nextPosition: UInt64, lastTimestamp: Int64,
        retired: [StoreManifest.RetiredSegment] = [], logStart: UInt64 = 1, deletions: [StoreManifest.Deletion] = []
    ) {
        self.blocks = blocks
        self.tail = tail
        self.nextPosition = nextPosition
        self.lastTimestamp = lastTimestamp
        self.retired = retired
        self.logStart = logStart
        self.deletions = deletions
    }

    /// An empty log.
    public static let empty = StoredLog(blocks: [], tail: [], nextPosition: 1, lastTimestamp: 0)
}
