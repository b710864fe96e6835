public import StreamKitLogFiles

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A transaction another writer committed to a shared log, as a ``LogFollower`` hands it to the store.
public struct FollowedTransaction: Sendable {
    /// The space of every record.
    public var space: String
    /// The segment of every record.
    public var segment: String
    /// The identifier stored with every entry.
    public var transactionID: UUID
    /// The segment's transaction number.
    public var transactionNumber: UInt64
    /// The records, in sequence order (contiguous sequences).
    public var records: [Record]
    /// Where the log put them.
    public var committed: CommittedTransaction

    /// Creates a followed transaction.
    public init(
        space: String, segment: String, transactionID: UUID, transactionNumber: UInt64, records: [Record],
        committed: CommittedTransaction
    ) {
        self.space = space
        self.segment = segment
        self.transactionID = transactionID
        self.transactionNumber = transactionNumber
        self.records = records
        self.committed = committed
    }
}
