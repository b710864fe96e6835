/// Thrown by ``StoreStorage/append(_:)`` of a storage that decides compare-and-append itself (a log shared by
/// several writers): the segment's last sequence in the log is not the one before the transaction's first, so
/// nothing was appended. Carries the segment's head in the log, so the engine can report the sequence expected
/// and continue from it. The engine turns it into `StreamKitError.sequenceConflict` (or, for `publish`, retries
/// on the new head).
public struct SegmentHeadConflict: Error, Sendable, Hashable {
    /// The segment's last sequence in the log (0 when it has none).
    public var lastSequence: UInt64
    /// The segment's last transaction number in the log (0 when it has none).
    public var lastTransactionNumber: UInt64

    /// Creates a conflict report.
    public init(lastSequence: UInt64, lastTransactionNumber: UInt64) {
        self.lastSequence = lastSequence
        self.lastTransactionNumber = lastTransactionNumber
    }
}
