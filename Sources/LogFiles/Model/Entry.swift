#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A stored record: what a producer sent plus what the store assigned at commit.
public struct Entry: Sendable, Hashable {
    /// The entry's position in its store's log (1, 2, 3 … in commit order across all spaces).
    public var position: UInt64
    /// The space the entry belongs to.
    public var space: String
    /// The segment within the space.
    public var segment: String
    /// The producer-assigned sequence in the segment.
    public var sequence: UInt64
    /// Commit time in nanoseconds since the Unix epoch; strictly increasing within a store.
    public var timestamp: Int64
    /// The identifier shared by all entries of one transaction.
    public var transactionID: UUID
    /// The transaction's number, increasing by one per committed transaction of the segment.
    public var transactionNumber: UInt64
    /// True for the last entry of its transaction.
    public var endsTransaction: Bool
    /// Opaque payload bytes (zero-copy when read from the log; see ``Payload``).
    public var payload: Payload
    /// Free-form string metadata.
    public var metadata: [String: String]

    /// Creates an entry.
    public init(
        position: UInt64, space: String, segment: String, sequence: UInt64, timestamp: Int64,
        transactionID: UUID, transactionNumber: UInt64, endsTransaction: Bool, payload: Payload,
        metadata: [String: String] = [:]
    ) {
        self.position = position
        self.space = space
        self.segment = segment
        self.sequence = sequence
        self.timestamp = timestamp
        self.transactionID = transactionID
        self.transactionNumber = transactionNumber
        self.endsTransaction = endsTransaction
        self.payload = payload
        self.metadata = metadata
    }
}
