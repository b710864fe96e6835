/// Thrown by ``StoreStorage/readBlock(at:)`` of a shared log (PostgreSQL) for a block that retention on another
/// process dropped before this process learned of it: the reader moves on to the log's new start, and the follow
/// loop soon trims the index as well.
public struct BlockDropped: Error, Sendable, Hashable {
    /// The block asked for.
    public var index: Int
    /// Where the log starts now.
    public var logStart: UInt64

    /// Creates the signal for block `index`, gone because the log now starts at `logStart`.
    public init(index: Int, logStart: UInt64) {
        self.index = index
        self.logStart = logStart
    }
}
