/// A registered worker as the inventory shows it.
///
/// Times are the store's monotonic clock in nanoseconds (``EngineClock``). A worker is live until it misses
/// three heartbeat intervals: while `now ≤ lastSeenAt + 3 × heartbeatInterval`.
public struct WorkerInfo: Sendable, Hashable {
    /// The worker's id, unique in the store: registering the same id again replaces the older registration.
    public let workerID: String
    /// What the worker said about itself when it registered.
    public let metadata: [String: String]
    /// How often the worker promised to send a heartbeat, in nanoseconds (1 s … 300 s).
    public let heartbeatInterval: UInt64
    /// When this registration was made (store monotonic clock, nanoseconds).
    public let registeredAt: UInt64
    /// When the store last heard from the worker: registration or latest heartbeat.
    public let lastSeenAt: UInt64

    /// Creates a worker description (the registry creates them; this is for decoding and tests).
    ///
    /// - Parameters:
    ///   - workerID: The worker's id.
    ///   - metadata: The worker's metadata.
    ///   - heartbeatInterval: The heartbeat interval, nanoseconds.
    ///   - registeredAt: When the registration was made, monotonic nanoseconds.
    ///   - lastSeenAt: When the worker was last heard from, monotonic nanoseconds.
    public init(
        workerID: String, metadata: [String: String], heartbeatInterval: UInt64, registeredAt: UInt64,
        lastSeenAt: UInt64
    ) {
        self.workerID = workerID
        self.metadata = metadata
        self.heartbeatInterval = heartbeatInterval
        self.registeredAt = registeredAt
        self.lastSeenAt = lastSeenAt
    }

    /// The last instant at which the worker is still live: `lastSeenAt + 3 × heartbeatInterval` (saturating).
    package var liveUntil: UInt64 {
        let (grace, overflow) = heartbeatInterval.multipliedReportingOverflow(
            by: CoordinationLimits.missedHeartbeatsBeforeEviction)
        return CoordinationLimits.deadline(lastSeenAt, plus: overflow ? .max : grace)
    }

    /// Whether the worker is live at `now`: true while `now ≤ lastSeenAt + 3 × heartbeatInterval`.
    ///
    /// - Parameter now: A reading of the store's monotonic clock, nanoseconds.
    /// - Returns: `false` once the worker missed three heartbeat intervals.
    public func isLive(at now: UInt64) -> Bool { now <= liveUntil }
}
