/// When ``AggregateRepository`` keeps snapshots of an aggregate, and how it encodes them.
///
/// With a policy of `.every(n)`, a save whose new version crosses a multiple of `n` (from version 95 to 103 crosses
/// 100) writes the aggregate, folded up to that version, as a snapshot; ``AggregateRepository/load(_:)`` then
/// starts from the latest snapshot and folds only the events after it. Snapshots are an optimisation: load gives
/// the same result without them.
///
/// ```swift
/// let accounts = AggregateRepository<Account>(
///     client: client, store: store, space: "accounts", snapshots: .every(100))
/// ```
public struct SnapshotPolicy<State: Sendable>: Sendable {
    /// How many events between snapshots (at least 1).
    public let interval: Int
    let codec: any SnapshotCodec<State>

    private init(interval: Int, codec: any SnapshotCodec<State>) {
        self.interval = max(1, interval)
        self.codec = codec
    }

    /// A snapshot every `events` events, encoded by `codec`.
    ///
    /// - Parameters:
    ///   - events: Events between snapshots; values below 1 count as 1.
    ///   - codec: How a snapshot is encoded.
    /// - Returns: The policy.
    public static func every(_ events: Int, codec: some SnapshotCodec<State>) -> Self {
        Self(interval: events, codec: codec)
    }

    /// Whether a save from `old` to `new` crosses a multiple of the interval.
    func isDue(from old: UInt64, to new: UInt64) -> Bool {
        old / UInt64(interval) != new / UInt64(interval)
    }
}

// MARK: - Codable states

extension SnapshotPolicy where State: Codable {
    /// A snapshot every `events` events, in JSON (``JSONSnapshotCodec``).
    ///
    /// - Parameter events: Events between snapshots; values below 1 count as 1.
    /// - Returns: The policy.
    public static func every(_ events: Int) -> Self {
        every(events, codec: JSONSnapshotCodec<State>())
    }
}
