// MARK: - Leases

extension StreamKitError {
    /// `leaseNotHeld`: the table has no lease under `key` (it was released, or it expired and was swept).
    static func leaseReleased(key: String) -> Self {
        .init(code: .leaseNotHeld, message: "lease '\(key)' is not held: it was released (or expired and was swept)")
    }

    /// `leaseNotHeld`: the caller's lease on `key` expired at `expiredAt` (monotonic ns), before `now`.
    static func leaseExpired(key: String, expiredAt: UInt64, now: UInt64) -> Self {
        .init(
            code: .leaseNotHeld,
            message: "lease '\(key)' is not held: it expired \(now - min(now, expiredAt)) ns ago; acquire it again")
    }

    /// `leaseNotHeld`: the lease on `key` belongs to another acquisition (another holder, or a later
    /// acquisition after expiry) whose fencing token is `current`; the caller offered `offered`.
    static func leaseTaken(key: String, offered: UInt64, current: UInt64) -> Self {
        .init(
            code: .leaseNotHeld,
            message: "lease '\(key)' is not held with fencing token \(offered): it was taken by another acquisition"
                + " (fencing token \(current))")
    }

    /// `limitExceeded`: the lease table holds `limit` keys and a new key was asked for.
    static func leaseTableFull(limit: Int) -> Self {
        .limitExceeded(
            "the lease table is full: \(limit) keys are held (limit \(limit)); release leases or raise the limit",
            limit: limit, value: limit + 1)
    }

    /// `limitExceeded`: the fencing counter reached `UInt64.max` (only possible with an absurd floor).
    static let fencingTokensExhausted = Self(
        code: .limitExceeded, message: "no fencing token is left: the counter reached UInt64.max")

    /// `invalidArgument`: a lease time to live outside 1 s … 24 h.
    static func invalidLeaseTTL(_ ttl: UInt64) -> Self {
        let tooShort = ttl < CoordinationLimits.minLeaseTTL
        let limit = tooShort ? CoordinationLimits.minLeaseTTL : CoordinationLimits.maxLeaseTTL
        return .invalidArgument(
            "the lease ttl of \(ttl) ns is \(tooShort ? "under the minimum of 1 s" : "over the maximum of 24 h")"
                + " (\(limit) ns)",
            limit: Int(clamping: limit), value: Int(clamping: ttl))
    }
}

// MARK: - Worker presence

extension StreamKitError {
    /// `notFound`: no worker is registered under `workerID`.
    static func workerNotRegistered(_ workerID: String) -> Self {
        .init(code: .notFound, message: "worker '\(workerID)' is not registered")
    }

    /// `notFound`: a newer registration (generation `current`) replaced the caller's (`generation`).
    static func workerReplaced(_ workerID: String, generation: UInt64, current: UInt64) -> Self {
        .init(
            code: .notFound,
            message: "worker '\(workerID)' registration \(generation) was replaced by a newer registration \(current)")
    }

    /// `notFound`: the worker missed its heartbeats and counts as evicted; it must register again.
    static func workerExpired(_ workerID: String) -> Self {
        .init(
            code: .notFound,
            message: "worker '\(workerID)' missed \(CoordinationLimits.missedHeartbeatsBeforeEviction) heartbeats"
                + " and was evicted; register again")
    }

    /// `limitExceeded`: the registry holds `limit` workers and a new id was registered.
    static func workerRegistryFull(limit: Int) -> Self {
        .limitExceeded(
            "the worker registry is full: \(limit) workers are registered (limit \(limit))", limit: limit,
            value: limit + 1)
    }

    /// `invalidArgument`: a heartbeat interval outside 1 s … 300 s (0 means the 30 s default).
    static func invalidHeartbeatInterval(_ interval: UInt64) -> Self {
        let tooShort = interval < CoordinationLimits.minHeartbeatInterval
        let limit = tooShort ? CoordinationLimits.minHeartbeatInterval : CoordinationLimits.maxHeartbeatInterval
        return .invalidArgument(
            "the heartbeat interval of \(interval) ns is "
                + (tooShort ? "under the minimum of 1 s" : "over the maximum of 300 s") + " (\(limit) ns)",
            limit: Int(clamping: limit), value: Int(clamping: interval))
    }

    /// `invalidArgument`: worker metadata over the size limit.
    static func workerMetadataTooLarge(bytes: Int, limit: Int) -> Self {
        .invalidArgument(
            "the worker metadata is \(bytes) UTF-8 bytes (keys and values), over the limit of \(limit)", limit: limit,
            value: bytes)
    }
}
