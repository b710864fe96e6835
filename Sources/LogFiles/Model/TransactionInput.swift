#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A transaction to append: records of one segment that commit together or not at all.
public struct TransactionInput: Sendable {
    /// The space of every record.
    public var space: String
    /// The segment of every record.
    public var segment: String
    /// The identifier stored with every entry of the transaction.
    public var transactionID: UUID
    /// The segment's transaction number for this transaction.
    public var transactionNumber: UInt64
    /// The records, in sequence order. Must not be empty.
    public var records: [Record]

    /// Creates a transaction.
    public init(space: String, segment: String, transactionID: UUID, transactionNumber: UInt64, records: [Record]) {
        self.space = space
        self.segment = segment
        self.transactionID = transactionID
        self.transactionNumber = transactionNumber
        self.records = records
    }
}

/// What the log assigned to an appended transaction.
public struct CommittedTransaction: Sendable, Hashable {
    /// Position of the first entry; entry `i` has position `firstPosition + i`.
    public var firstPosition: UInt64
    /// Number of entries.
    public var count: Int
    /// Timestamp of the first entry; entry `i` has timestamp `firstTimestamp + i` (consecutive nanoseconds).
    public var firstTimestamp: Int64

    /// Position of the last entry.
    public var lastPosition: UInt64 { firstPosition + UInt64(count) - 1 }
    /// Timestamp of the last entry.
    public var lastTimestamp: Int64 { firstTimestamp + Int64(count) - 1 }

    public init(firstPosition: UInt64, count: Int, firstTimestamp: Int64) {
        self.firstPosition = firstPosition
        self.count = count
        self.firstTimestamp = firstTimestamp
    }
}
