import Logging

/// Leases and worker presence: in the store's memory, on the store's monotonic clock; or, when the storage shares
/// them with the other processes that open the store (``StoreStorage/coordination``, PostgreSQL), where it keeps
/// them, with expiry by its clock and times converted to the store's monotonic clock.
extension Store {
    // MARK: - Leases

    /// Acquires the lease on `key` for `holder`, or refreshes it when `holder` already holds it.
    /// - Parameters:
    ///   - key: What the lease protects (1–256 UTF-8 bytes).
    ///   - holder: Who asks (1–256 UTF-8 bytes).
    ///   - ttlSeconds: How long the lease lasts without renewal (1 s – 24 h).
    /// - Returns: The lease with its fencing token, or nil while another holder's lease is live.
    /// - Throws: `StreamKitError.invalidArgument`, `.limitExceeded` (too many keys), `.storeUnavailable` (shared
    ///   leases that cannot be reached).
    public func acquireLease(key: String, holder: String, ttlSeconds: Double) async throws -> Lease? {
        let now = configuration.clock.now()
        let ttl = Self.nanoseconds(ttlSeconds)
        guard let shared = reads.storage.coordination else {
            return try leases.acquire(key: key, holder: holder, ttl: ttl, now: now, fencingFloor: fencingFloor())
        }
        try Self.checkLease(key: key, holder: holder, ttl: ttl)
        return try await shared.acquireLease(key: key, holder: holder, ttl: ttl, fencingFloor: fencingFloor(), now: now)
    }

    /// Extends a lease the caller holds.
    /// - Throws: `StreamKitError.leaseNotHeld` when it expired, was released, or was taken.
    public func renewLease(_ lease: Lease, ttlSeconds: Double? = nil) async throws -> Lease {
        let ttl = ttlSeconds.map(Self.nanoseconds) ?? lease.ttl
        let now = configuration.clock.now()
        guard let shared = reads.storage.coordination else {
            return try leases.renew(
                key: lease.key, holder: lease.holder, fencingToken: lease.fencingToken, ttl: ttl, now: now)
        }
        try Self.checkLease(key: lease.key, holder: lease.holder, ttl: ttl)
        return try await shared.renewLease(
            key: lease.key, holder: lease.holder, fencingToken: lease.fencingToken, ttl: ttl, now: now)
    }

    /// Releases a lease the caller holds; the next acquisition gets a higher fencing token.
    /// - Throws: `StreamKitError.leaseNotHeld` when it is no longer held.
    public func releaseLease(_ lease: Lease) async throws {
        guard let shared = reads.storage.coordination else {
            return try leases.release(
                key: lease.key, holder: lease.holder, fencingToken: lease.fencingToken, now: configuration.clock.now())
        }
        try Self.checkLease(key: lease.key, holder: lease.holder, ttl: CoordinationLimits.minLeaseTTL)
        try await shared.releaseLease(key: lease.key, holder: lease.holder, fencingToken: lease.fencingToken)
    }

    /// The live lease on `key`, if any.
    /// - Throws: `storeUnavailable` when the leases are shared (``StoreStorage/coordination``) and cannot be
    ///   reached: "no lease" would be a guess.
    public func lease(key: String) async throws -> Lease? {
        let now = configuration.clock.now()
        guard let shared = reads.storage.coordination else { return leases.lease(key: key, now: now) }
        return try await shared.lease(key: key, now: now)
    }

    /// Tokens must exceed every earlier one, also after a restart: the store clock's next timestamp
    /// (wall-clock nanoseconds, never below the last commit's timestamp + 1) is a floor that only rises.
    private func fencingFloor() -> UInt64 {
        UInt64(max(configuration.log.clock(), lastTimestamp + 1, 1))
    }

    static func nanoseconds(_ seconds: Double) -> UInt64 {
        guard seconds.isFinite, seconds > 0 else { return 0 }
        return seconds >= Double(UInt64.max) / 1e9 ? .max : UInt64(seconds * 1e9)
    }

    // MARK: - Worker presence

    /// Registers a worker (replacing an older registration of the same id).
    /// - Parameters:
    ///   - workerID: The worker's id (1–256 UTF-8 bytes).
    ///   - metadata: Up to 4 KiB of keys and values.
    ///   - heartbeatSeconds: How often the worker will call ``workerHeartbeat(workerID:generation:)``
    ///     (1–300; 0 = 30). It is evicted after 3 missed intervals.
    /// - Returns: The registration: its generation (pass it to heartbeats) and the inventory.
    /// - Throws: `StreamKitError.invalidArgument`, `.limitExceeded` (too many workers), `.storeUnavailable`
    ///   (shared presence that cannot be reached).
    public func registerWorker(
        workerID: String, metadata: [String: String] = [:], heartbeatSeconds: Int = 30
    )
        async throws -> WorkerRegistration
    {
        let now = configuration.clock.now()
        let interval = Self.heartbeatInterval(seconds: heartbeatSeconds)
        guard let shared = reads.storage.coordination else {
            workers.evictExpired(now: now)
            let registration = try workers.register(
                workerID: workerID, metadata: metadata, heartbeatInterval: interval, now: now)
            workersChanged()
            return WorkerRegistration(
                generation: registration.generation, worker: registration.worker,
                replacedGeneration: registration.replacedGeneration, inventory: registration.inventory)
        }
        // The in-memory registry's checks, on a scratch registry: the same errors, and the default interval.
        var scratch = WorkerRegistry()
        let checked = try scratch.register(workerID: workerID, metadata: metadata, heartbeatInterval: interval, now: 0)
        let registration = try await shared.registerWorker(
            workerID: workerID, metadata: metadata, heartbeatInterval: checked.worker.heartbeatInterval, now: now)
        publishWorkers(registration.inventory)
        return registration
    }

    /// Records a worker's heartbeat.
    /// - Throws: `StreamKitError.notFound` for an unknown, replaced or expired registration.
    public func workerHeartbeat(workerID: String, generation: UInt64) async throws {
        guard let shared = reads.storage.coordination else {
            return try workers.heartbeat(workerID: workerID, generation: generation, now: configuration.clock.now())
        }
        try await shared.workerHeartbeat(workerID: workerID, generation: generation)
    }

    /// Removes a worker's registration (a replaced generation does nothing).
    /// - Returns: Whether a registration was removed.
    /// - Throws: `storeUnavailable` when presence is shared and cannot be reached (the worker is then evicted
    ///   once it misses 3 intervals).
    @discardableResult
    public func unregisterWorker(workerID: String, generation: UInt64) async throws -> Bool {
        guard let shared = reads.storage.coordination else {
            defer { workersChanged() }
            return workers.unregister(workerID: workerID, generation: generation)
        }
        let removed = try await shared.unregisterWorker(workerID: workerID, generation: generation)
        if removed { await refreshSharedWorkers() }  // Only while someone watches.
        return removed
    }

    /// The live workers, sorted by id.
    /// - Throws: `storeUnavailable` when presence is shared and cannot be reached: an empty inventory would tell
    ///   the caller that every worker is gone.
    public func workerInventory() async throws -> WorkerInventory {
        let now = configuration.clock.now()
        guard let shared = reads.storage.coordination else {
            workers.evictExpired(now: now)
            defer { workersChanged() }
            return workers.inventory(now: now)
        }
        let inventory = try await shared.workerInventory(now: now)
        publishWorkers(inventory)
        return inventory
    }

    /// Nanoseconds of a heartbeat interval in seconds; beyond `UInt64` (or negative) it is `.max`, which the
    /// registry refuses as over the limit.
    static func heartbeatInterval(seconds: Int) -> UInt64 {
        guard seconds >= 0 else { return .max }
        let (nanoseconds, overflow) = UInt64(seconds).multipliedReportingOverflow(by: CoordinationLimits.second)
        return overflow ? .max : nanoseconds
    }

    /// The in-memory lease table's checks of a key, holder and ttl, on a scratch table (the same errors).
    private static func checkLease(key: String, holder: String, ttl: UInt64) throws {
        var scratch = LeaseTable()
        _ = try scratch.acquire(key: key, holder: holder, ttl: ttl, now: 0, fencingFloor: 1)
    }
}

extension Store {
    // MARK: - Closing for the registry

    /// Closes the store unless it holds live leases or worker registrations, which live only in its memory, so
    /// that closing it would free keys that their holders still believe theirs. Expired ones are removed first.
    /// Leases and presence that the storage shares (``StoreStorage/coordination``) are not in memory and outlive
    /// the close: such a store closes, unless its worker inventory is watched (``watchWorkers()``), which reaches
    /// the watchers only through the store's poll.
    ///
    /// The check and the start of the close run in one step on the store, so nothing is acquired in between.
    /// - Returns: Whether the store is closed.
    func closeUnlessCoordinating() async -> Bool {
        guard reads.storage.coordination == nil else {
            // Shared presence reaches its watchers only through the poll of an open store.
            guard workerWatching.watches.isEmpty else { return false }
            await close()
            return true
        }
        let now = configuration.clock.now()
        leases.sweep(now: now)
        workers.evictExpired(now: now)
        workersChanged()
        guard leases.count == 0, workers.count == 0 else { return false }
        await close()
        return true
    }
}

/// A worker's registration: the generation to pass to heartbeats, and the inventory after it.
public struct WorkerRegistration: Sendable, Hashable {
    /// Identifies this registration; a later registration of the same id gets a higher one.
    public var generation: UInt64
    /// The registered worker.
    public var worker: WorkerInfo
    /// The older registration this one replaced, if any.
    public var replacedGeneration: UInt64?
    /// Live workers after the registration.
    public var inventory: WorkerInventory

    /// Creates a registration (stores create them; this is for shared coordinations, decoding and tests).
    ///
    /// - Parameters:
    ///   - generation: The registration's generation.
    ///   - worker: The registered worker.
    ///   - replacedGeneration: The generation of the registration this one replaced, if any.
    ///   - inventory: Live workers after the registration.
    public init(generation: UInt64, worker: WorkerInfo, replacedGeneration: UInt64?, inventory: WorkerInventory) {
        self.generation = generation
        self.worker = worker
        self.replacedGeneration = replacedGeneration
        self.inventory = inventory
    }
}
