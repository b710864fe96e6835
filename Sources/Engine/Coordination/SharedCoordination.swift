/// Leases and worker presence kept where every process that opens the store sees them (a database), instead of
/// in one store's memory. A storage shared by several processes provides one (``StoreStorage/coordination``);
/// the store then answers its lease and presence calls through it, and through its in-memory `LeaseTable` and
/// `WorkerRegistry` otherwise.
///
/// Implementations keep the rules of the in-memory tables (see `docs/semantics.md`, "Leases and fencing" and
/// "Worker presence"), across every process:
/// - At most one live lease per key; the same holder acquiring its live lease again refreshes it (same token).
///   A new acquisition gets a fencing token above every token issued for the store before, by any process and
///   across restarts, and at least `fencingFloor`.
/// - `renew` and `release` need the live holder and its token, else `leaseNotHeld` saying whether the lease
///   expired, was released or was taken (`leaseReleased(key:)`, `leaseExpired(key:ago:)`,
///   `leaseTaken(key:offered:current:)`).
/// - Registering a worker id replaces its older registration; a heartbeat of an unknown, replaced or expired
///   registration fails with `notFound`; a worker missing three heartbeat intervals is evicted; the inventory's
///   version increases on every membership change.
/// - The limits of the in-memory tables (`leaseKeyLimit`, `workerLimit`), with the same errors.
///
/// Expiry is decided by the implementation's own clock (the database's), never a caller's. The store validates
/// arguments (names, time to live, heartbeat interval, metadata size) before it calls, and passes `now`, its
/// monotonic clock read *before* the call: times come back on that clock (`now` + what remains by the
/// implementation's clock), so that a lease's `expiresAt` is never later than the lease really lasts.
///
/// Errors are `StreamKitError`s: the rule violations above, and `storeUnavailable` (retryable) when the shared
/// state cannot be reached.
public protocol SharedCoordination: Sendable {
    /// Acquires the lease on `key` for `holder`, or refreshes it when `holder` holds it live.
    /// - Parameters:
    ///   - key: The lease's key.
    ///   - holder: Who asks for it.
    ///   - ttl: Time to live in nanoseconds (validated: 1 s … 24 h).
    ///   - fencingFloor: The least token a new acquisition may get.
    ///   - now: The store's monotonic clock, read before the call.
    /// - Returns: The lease, or nil while another holder's lease is live.
    func acquireLease(
        key: String, holder: String, ttl: UInt64, fencingFloor: UInt64, now: UInt64
    ) async throws
        -> Lease?
    /// Extends the caller's live lease by `ttl` from now (same token).
    func renewLease(key: String, holder: String, fencingToken: UInt64, ttl: UInt64, now: UInt64) async throws -> Lease
    /// Releases the caller's live lease; the key is free at once.
    func releaseLease(key: String, holder: String, fencingToken: UInt64) async throws
    /// The live lease on `key`, if any.
    func lease(key: String, now: UInt64) async throws -> Lease?
    /// Registers a worker, replacing an older registration of its id, after evicting expired workers.
    /// - Parameters:
    ///   - workerID: The worker's id.
    ///   - metadata: The worker's metadata.
    ///   - heartbeatInterval: Nanoseconds (validated: 1 s … 300 s, the default already applied).
    ///   - now: The store's monotonic clock, read before the call.
    func registerWorker(
        workerID: String, metadata: [String: String], heartbeatInterval: UInt64, now: UInt64
    )
        async throws -> WorkerRegistration
    /// Records a heartbeat of a live registration.
    func workerHeartbeat(workerID: String, generation: UInt64) async throws
    /// Removes a registration; false when `generation` is not the current one (nothing changes).
    func unregisterWorker(workerID: String, generation: UInt64) async throws -> Bool
    /// The live workers after evicting expired ones, with the membership version.
    func workerInventory(now: UInt64) async throws -> WorkerInventory
}

extension SharedCoordination {
    /// The most lease keys per store, as in memory (``LeaseTable/maxKeys``).
    package static var leaseKeyLimit: Int { LeaseTable().maxKeys }
    /// The most workers per store, as in memory (``WorkerRegistry/maxWorkers``).
    package static var workerLimit: Int { WorkerRegistry().maxWorkers }

    /// `leaseNotHeld`: the key has no lease (released, or expired and removed).
    package static func leaseReleased(key: String) -> StreamKitError { .leaseReleased(key: key) }
    /// `leaseNotHeld`: the caller's lease expired `ago` nanoseconds ago.
    package static func leaseExpired(key: String, ago: UInt64) -> StreamKitError {
        .leaseExpired(key: key, expiredAt: 0, now: ago)
    }
    /// `leaseNotHeld`: another acquisition (token `current`) holds the key; the caller offered `offered`.
    package static func leaseTaken(key: String, offered: UInt64, current: UInt64) -> StreamKitError {
        .leaseTaken(key: key, offered: offered, current: current)
    }
    /// `limitExceeded`: the store has ``leaseKeyLimit`` keys and a new one was asked for.
    package static var leaseTableFull: StreamKitError { .leaseTableFull(limit: leaseKeyLimit) }
    /// `limitExceeded`: fencing tokens ran out (the shared counter keeps them below `Int64.max`).
    package static var fencingTokensExhausted: StreamKitError { StreamKitError.fencingTokensExhausted }
    /// `notFound`: no worker is registered under `workerID`.
    package static func workerNotRegistered(_ workerID: String) -> StreamKitError { .workerNotRegistered(workerID) }
    /// `notFound`: a newer registration (`current`) replaced the caller's (`generation`).
    package static func workerReplaced(_ workerID: String, generation: UInt64, current: UInt64) -> StreamKitError {
        .workerReplaced(workerID, generation: generation, current: current)
    }
    /// `notFound`: the worker missed three heartbeat intervals.
    package static func workerExpired(_ workerID: String) -> StreamKitError { .workerExpired(workerID) }
    /// `limitExceeded`: the store has ``workerLimit`` workers and a new id registered.
    package static var workerRegistryFull: StreamKitError { .workerRegistryFull(limit: workerLimit) }
}
