/// Where a durable consumer stands: the last entry it acknowledged in each space it reads (a space absent or at
/// ``Offset/start``: nothing yet), and for a segment consumer that entry's sequence.
///
/// Positions only move forward: acknowledging an entry before the recorded one changes nothing.
public struct ConsumerPosition: Sendable, Hashable {
    /// Per space, the offset of the last acknowledged entry (resume after it).
    public var offsets: [String: Offset]
    /// A segment consumer's last acknowledged sequence (0: none); 0 for a space consumer.
    public var sequence: UInt64

    /// Nothing acknowledged: the consumer reads from the beginning.
    public static let start = ConsumerPosition(offsets: [:], sequence: 0)

    /// Creates a position.
    public init(offsets: [String: Offset], sequence: UInt64 = 0) {
        self.offsets = offsets
        self.sequence = sequence
    }

    /// The position once `entry` (read by the consumer) is processed too.
    public func advanced(through entry: Entry) -> ConsumerPosition {
        var next = self
        next.merge(ConsumerPosition(offsets: [entry.space: entry.offset], sequence: entry.sequence))
        return next
    }

    /// Takes the later of the two positions in each space (and the higher sequence).
    public mutating func merge(_ other: ConsumerPosition) {
        for (space, offset) in other.offsets where offset > (offsets[space] ?? .start) { offsets[space] = offset }
        sequence = max(sequence, other.sequence)
    }

    /// The offset to resume `space` after.
    public func offset(of space: String) -> Offset { offsets[space] ?? .start }

    /// The newest acknowledged entry's offset (its commit timestamp dates the position).
    public var newest: Offset { offsets.values.max() ?? .start }
}
