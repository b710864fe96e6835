/// What happened to a client's connection to its server (``StreamKitClient/connectionEvents()``). The in-process
/// transport has no connection and reports nothing.
public enum ConnectionEvent: Sendable, Hashable {
    /// The connection was lost; the transport reconnects in the background. `reads` and `subscriptions` were open
    /// on it: reads resume on the next connection after their last delivered entry (``WebSocketOptions/resumeReads``),
    /// subscriptions subscribe again and deliver a fresh snapshot.
    case lost(connection: UInt64, error: String, reads: Int, subscriptions: Int)
    /// A connection was established again after a loss, `downtime` after it. The reads and subscriptions the loss
    /// interrupted (``lost(connection:error:reads:subscriptions:)``) reopen on it: `resumedReads` and
    /// `resubscriptions` repeat their counts.
    case reestablished(connection: UInt64, downtime: Duration, resumedReads: Int, resubscriptions: Int)
}
