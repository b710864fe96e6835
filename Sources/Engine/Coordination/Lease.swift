/// A lease on a key: who holds it, until when, and the fencing token that proves it.
///
/// A store grants at most one live lease per key. Every new acquisition (a new holder, or the same holder
/// after its lease expired or was released) gets a **fencing token** greater than any token the store issued
/// before, also across a restart. Pass the token to whatever the lease protects and have it refuse writes
/// carrying a token lower than the highest it has seen: a holder that was paused past its expiry, and whose
/// key was taken meanwhile, is then fenced off instead of corrupting data.
///
/// Renewing or re-acquiring a live lease keeps its token and moves its expiry. Times are the store's
/// monotonic clock in nanoseconds (``EngineClock``), not wall-clock time: compare `expiresAt` only with
/// other readings of the same store's clock.
public struct Lease: Sendable, Hashable {
    /// The key the lease is on.
    public let key: String
    /// The holder that acquired it (an id the caller chose, typically a random UUID per use).
    public let holder: String
    /// Increases with each new acquisition of any key in the store; stays the same across renewals.
    public let fencingToken: UInt64
    /// The first instant (store monotonic clock, nanoseconds) at which the lease is no longer held.
    public let expiresAt: UInt64
    /// The time to live the lease was last acquired or renewed with, in nanoseconds.
    public let ttl: UInt64

    /// Creates a lease value (stores create leases; this is for decoding and tests).
    ///
    /// - Parameters:
    ///   - key: The key the lease is on.
    ///   - holder: The holder.
    ///   - fencingToken: The fencing token.
    ///   - expiresAt: The first instant at which the lease is no longer held, monotonic nanoseconds.
    ///   - ttl: The time to live, nanoseconds.
    public init(key: String, holder: String, fencingToken: UInt64, expiresAt: UInt64, ttl: UInt64) {
        self.key = key
        self.holder = holder
        self.fencingToken = fencingToken
        self.expiresAt = expiresAt
        self.ttl = ttl
    }

    /// Whether the lease is still held at `now`: true while `now < expiresAt`.
    ///
    /// - Parameter now: A reading of the store's monotonic clock, nanoseconds.
    /// - Returns: `true` before `expiresAt`, `false` from `expiresAt` on.
    public func isLive(at now: UInt64) -> Bool { now < expiresAt }
}
