/// The leases of one store: at most one live lease per key, fencing tokens that only go up, and a bound on
/// the number of keys.
///
/// A plain value that the store mutates inside its actor, passing its monotonic clock reading (`now`,
/// nanoseconds) to every call, so the table itself never reads a clock and tests are deterministic.
///
/// Rules:
/// - A lease is live while `now < expiresAt`; at `expiresAt` it is expired.
/// - A new acquisition (free key, expired lease, released lease, or the same holder after its own lease
///   expired) gets a new fencing token `max(lastFencingToken + 1, fencingFloor)`, so tokens strictly increase
///   across the whole table, and exceed every token of an earlier incarnation of the store as long as the
///   store passes a floor above them.
/// - Acquiring a key one already holds live refreshes it: same token, new expiry.
/// - `renew` and `release` need the current live holder *and* its token, else `leaseNotHeld`. Releasing is not
///   idempotent: releasing a lease that is no longer held (released, expired, taken) throws `leaseNotHeld`,
///   so a caller learns that its critical section may have overlapped another holder's.
/// - Expired entries stay until ``sweep(now:)`` (or an acquire on a full table) removes them; the fencing
///   counter never goes back.
package struct LeaseTable: Sendable {
    /// Leases by key, live or expired-but-not-yet-swept.
    private var leases: [String: Lease] = [:]
    /// A lower bound of every `expiresAt` in `leases` (`.max` when empty): nothing is expired before it, so a
    /// sweep before it is free.
    private var earliestExpiry: UInt64 = .max
    /// The highest fencing token issued by this table, 0 before the first.
    package private(set) var lastFencingToken: UInt64 = 0
    /// The most keys the table holds; acquiring a new key beyond it throws `limitExceeded`.
    package let maxKeys: Int

    /// Creates an empty table.
    ///
    /// - Parameter maxKeys: The most keys held at once (default 100,000); values below 1 count as 1.
    package init(maxKeys: Int = 100_000) {
        self.maxKeys = max(1, maxKeys)
    }

    /// The number of keys in the table, including expired leases not yet swept (what ``maxKeys`` bounds).
    package var count: Int { leases.count }

    /// Acquires the lease on `key` for `holder`, or refreshes it if `holder` already holds it.
    ///
    /// - Parameters:
    ///   - key: The key, 1 … 256 UTF-8 bytes.
    ///   - holder: The holder, 1 … 256 UTF-8 bytes.
    ///   - ttl: Time to live in nanoseconds, 1 s … 24 h.
    ///   - now: The store's monotonic clock, nanoseconds.
    ///   - fencingFloor: The least token a new acquisition may get (the store passes a value above every token
    ///     it issued before a restart, so tokens keep increasing across restarts).
    /// - Returns: The lease (new token for a new acquisition, same token for a refresh), or `nil` when another
    ///   holder has a live lease on the key.
    /// - Throws: `invalidArgument` for a bad key, holder or ttl; `limitExceeded` when the key is new and the
    ///   table holds ``maxKeys`` keys even after sweeping expired ones (or, in theory, when fencing tokens run
    ///   out at `UInt64.max`).
    /// - Complexity: O(1), plus O(n) for a sweep when a new key arrives at a full table.
    package mutating func acquire(
        key: String, holder: String, ttl: UInt64, now: UInt64, fencingFloor: UInt64
    ) throws(StreamKitError) -> Lease? {
        try Self.check(key: key, holder: holder)
        try Self.check(ttl: ttl)
        if let current = leases[key], current.isLive(at: now) {
            guard current.holder == holder else { return nil }
            return store(current, ttl: ttl, now: now)
        }
        if leases[key] == nil, leases.count >= maxKeys {
            sweep(now: now)
            guard leases.count < maxKeys else { throw .leaseTableFull(limit: maxKeys) }
        }
        let token = try nextToken(floor: fencingFloor)
        let lease = Lease(
            key: key, holder: holder, fencingToken: token, expiresAt: CoordinationLimits.deadline(now, plus: ttl),
            ttl: ttl)
        lastFencingToken = token
        insert(lease)
        return lease
    }

    /// Extends a lease the caller holds: same token, expiry `now + ttl`.
    ///
    /// - Parameters:
    ///   - key: The key.
    ///   - holder: The holder that acquired it.
    ///   - fencingToken: The token of the caller's acquisition.
    ///   - ttl: The new time to live, 1 s … 24 h.
    ///   - now: The store's monotonic clock, nanoseconds.
    /// - Returns: The renewed lease.
    /// - Throws: `leaseNotHeld` when the lease expired, was released, or was taken by another acquisition (the
    ///   message says which); `invalidArgument` for a bad key, holder or ttl.
    package mutating func renew(
        key: String, holder: String, fencingToken: UInt64, ttl: UInt64, now: UInt64
    ) throws(StreamKitError) -> Lease {
        try Self.check(key: key, holder: holder)
        try Self.check(ttl: ttl)
        let current = try held(key: key, holder: holder, fencingToken: fencingToken, now: now)
        return store(current, ttl: ttl, now: now)
    }

    /// Releases a lease the caller holds; the next acquisition of the key gets a new, higher token.
    ///
    /// Not idempotent on purpose: a second release, or a release after expiry or takeover, throws.
    ///
    /// - Parameters:
    ///   - key: The key.
    ///   - holder: The holder that acquired it.
    ///   - fencingToken: The token of the caller's acquisition.
    ///   - now: The store's monotonic clock, nanoseconds.
    /// - Throws: `leaseNotHeld` when the caller no longer holds the lease (expired, released, or taken; the
    ///   message says which); `invalidArgument` for a bad key or holder.
    package mutating func release(
        key: String, holder: String, fencingToken: UInt64, now: UInt64
    ) throws(StreamKitError) {
        try Self.check(key: key, holder: holder)
        _ = try held(key: key, holder: holder, fencingToken: fencingToken, now: now)
        leases[key] = nil
    }

    /// The live lease on `key` at `now`, or `nil` when the key is free or its lease expired.
    ///
    /// - Parameters:
    ///   - key: The key.
    ///   - now: The store's monotonic clock, nanoseconds.
    /// - Returns: The lease, if live.
    package func lease(key: String, now: UInt64) -> Lease? {
        guard let lease = leases[key], lease.isLive(at: now) else { return nil }
        return lease
    }

    /// Removes the leases expired at `now`. The fencing counter is kept.
    ///
    /// - Parameter now: The store's monotonic clock, nanoseconds.
    /// - Returns: The number of leases removed.
    /// - Complexity: O(1) when no lease can have expired yet, else O(n).
    @discardableResult
    package mutating func sweep(now: UInt64) -> Int {
        guard now >= earliestExpiry else { return 0 }
        let before = leases.count
        leases = leases.filter { $0.value.isLive(at: now) }
        earliestExpiry = leases.values.lazy.map(\.expiresAt).min() ?? .max
        return before - leases.count
    }

    // MARK: - Private

    /// The caller's live lease, or the `leaseNotHeld` error saying why it is not held.
    private func held(key: String, holder: String, fencingToken: UInt64, now: UInt64) throws(StreamKitError) -> Lease {
        guard let current = leases[key] else { throw .leaseReleased(key: key) }
        guard current.holder == holder, current.fencingToken == fencingToken else {
            throw .leaseTaken(key: key, offered: fencingToken, current: current.fencingToken)
        }
        guard current.isLive(at: now) else { throw .leaseExpired(key: key, expiredAt: current.expiresAt, now: now) }
        return current
    }

    /// Stores `lease` with a new expiry `now + ttl`, keeping its token.
    private mutating func store(_ lease: Lease, ttl: UInt64, now: UInt64) -> Lease {
        let renewed = Lease(
            key: lease.key, holder: lease.holder, fencingToken: lease.fencingToken,
            expiresAt: CoordinationLimits.deadline(now, plus: ttl), ttl: ttl)
        insert(renewed)
        return renewed
    }

    private mutating func insert(_ lease: Lease) {
        leases[lease.key] = lease
        earliestExpiry = min(earliestExpiry, lease.expiresAt)
    }

    private func nextToken(floor: UInt64) throws(StreamKitError) -> UInt64 {
        guard lastFencingToken < .max else { throw .fencingTokensExhausted }
        return max(lastFencingToken + 1, floor)
    }

    private static func check(key: String, holder: String) throws(StreamKitError) {
        try CoordinationLimits.checkName(key, "lease key")
        try CoordinationLimits.checkName(holder, "lease holder")
    }

    private static func check(ttl: UInt64) throws(StreamKitError) {
        guard ttl >= CoordinationLimits.minLeaseTTL, ttl <= CoordinationLimits.maxLeaseTTL else {
            throw .invalidLeaseTTL(ttl)
        }
    }
}
