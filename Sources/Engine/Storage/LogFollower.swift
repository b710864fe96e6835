/// How a store learns about transactions that other processes append to a log it shares with them (the
/// PostgreSQL log, where several nodes write one store). A storage that is its log's only writer has none
/// (``StoreStorage/follower`` is nil).
///
/// The store runs one follow loop per open store: it asks for ``transactions(after:maxEntries:)`` after its
/// visible position and, when there is nothing new, waits in ``waitForCommits(poll:)``. It calls ``wake()``
/// when one of its own commits landed after positions it has not seen yet (another writer's transaction is
/// in between), so that the gap is filled at once instead of at the next poll.
public protocol LogFollower: Sendable {
    /// Returns when commits by other writers may be waiting (a hint from the log, such as a notification),
    /// when ``wake()`` is called, or after `poll` at the latest. Returns at once when the task is cancelled.
    func waitForCommits(poll: Duration) async
    /// Ends the current (or the next) ``waitForCommits(poll:)`` early.
    func wake()
    /// Committed transactions with positions after `position`, in position order, that this process did not
    /// see committed through its own ``StoreStorage/append(_:)`` (those reach the store through the append),
    /// about `maxEntries` entries at most (whole transactions; at least one when there is one). Empty when
    /// nothing is new. Throws `StreamKitError` (`storeUnavailable` while the log cannot be reached).
    func transactions(after position: UInt64, maxEntries: Int) async throws -> [FollowedTransaction]
    /// Where the shared log starts now and every deletion recorded in it (by any process), asked for once per
    /// poll interval. A storage that forgets blocks before the start does so before it returns. Throws as
    /// ``transactions(after:maxEntries:)``.
    func maintenance() async throws -> SharedMaintenance
}

extension LogFollower {
    /// A log that neither drops nor deletes: it starts at 1 and has no deletion.
    public func maintenance() async throws -> SharedMaintenance { SharedMaintenance() }
}
