/// An opaque, exclusive resume token for space reads: "everything after this entry".
///
/// It names an entry by its store log position and carries the entry's commit timestamp so that a store
/// can tell whether the offset is one it issued (a mismatch is `invalidOffset`, never a silent skip).
/// Save `entry.offset` after processing an entry and pass it back to resume: nothing is skipped and nothing
/// repeats, across restarts too. ``Offset/start`` reads from the beginning.
public struct Offset: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Log position of the entry the offset follows (0 for the start).
    public let position: UInt64
    /// Commit timestamp of that entry (0 for the start).
    public let timestamp: Int64

    /// Before the first entry.
    public static let start = Offset(position: 0, timestamp: 0)

    /// Creates an offset; prefer `entry.offset` or a decoded token.
    public init(position: UInt64, timestamp: Int64) {
        self.position = position
        self.timestamp = timestamp
    }

    public static func < (lhs: Offset, rhs: Offset) -> Bool { lhs.position < rhs.position }

    /// A printable token (`<position>-<timestamp>` in hexadecimal) that ``init(token:)`` reads back.
    public var token: String { String(position, radix: 16) + "-" + String(UInt64(bitPattern: timestamp), radix: 16) }

    /// Decodes a token from ``token``; nil when it is not one.
    public init?(token: String) {
        let parts = token.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let position = UInt64(parts[0], radix: 16), let bits = UInt64(parts[1], radix: 16)
        else { return nil }
        self.init(position: position, timestamp: Int64(bitPattern: bits))
    }

    public var description: String { token }
}
