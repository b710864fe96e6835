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
        next.advance(through: entry)
        return next
    }

    /// Moves the position to `entry` (read by the consumer) when it is later; in place, without allocating once
    /// the entry's space has an offset.
    public mutating func advance(through entry: Entry) {
        let offset = entry.offset
        sequence = max(sequence, entry.sequence)
        // A consumer reads a few spaces: comparing their names beats hashing the entry's on every entry.
        var index = offsets.startIndex
        while index != offsets.endIndex {
            if offsets.keys[index] == entry.space {
                if offset > offsets.values[index] { offsets.values[index] = offset }
                return
            }
            offsets.formIndex(after: &index)
        }
        offsets[entry.space] = offset
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
