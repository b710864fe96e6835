/// Leases and worker presence: in the store's memory, on the store's monotonic clock.
extension Store {
    // MARK: - Leases

    /// Acquires the lease on `key` for `holder`, or refreshes it when `holder` already holds it.
    /// - Parameters:
    ///   - key: What the lease protects (1–256 UTF-8 bytes).
    ///   - holder: Who asks (1–256 UTF-8 bytes).
    ///   - ttlSeconds: How long the lease lasts without renewal (1 s – 24 h).
    /// - Returns: The lease with its fencing token, or nil while another holder's lease is live.
    /// - Throws: `StreamKitError.invalidArgument`, `.limitExceeded` (too many keys).
    public func acquireLease(key: String, holder: String, ttlSeconds: Double) throws -> Lease? {
        let now = configuration.clock.now()
        return try leases.acquire(key: key, holder: holder, ttl: Self.nanoseconds(ttlSeconds), now: now, fencingFloor: fencingFloor())
    }

    /// Extends a lease the caller holds.
    /// - Throws: `StreamKitError.leaseNotHeld` when it expired, was released, or was taken.
    public func renewLease(_ lease: Lease, ttlSeconds: Double? = nil) throws -> Lease {
        let ttl = ttlSeconds.map(Self.nanoseconds) ?? lease.ttl
        return try leases.renew(
            key: lease.key, holder: lease.holder, fencingToken: lease.fencingToken, ttl: ttl, now: configuration.clock.now())
    }

    /// Releases a lease the caller holds; the next acquisition gets a higher fencing token.
    /// - Throws: `StreamKitError.leaseNotHeld` when it is no longer held.
    public func releaseLease(_ lease: Lease) throws {
        try leases.release(key: lease.key, holder: lease.holder, fencingToken: lease.fencingToken, now: configuration.clock.now())
    }

    /// The live lease on `key`, if any.
    public func lease(key: String) -> Lease? { leases.lease(key: key, now: configuration.clock.now()) }

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
    public func registerWorker(workerID: String, metadata: [String: String] = [:], heartbeatSeconds: Int = 30) throws
        -> WorkerRegistration
    {
        let now = configuration.clock.now()
        workers.evictExpired(now: now)
        let interval = heartbeatSeconds < 0 ? UInt64.max : UInt64(heartbeatSeconds) * 1_000_000_000
        let registration = try workers.register(workerID: workerID, metadata: metadata, heartbeatInterval: interval, now: now)
        return WorkerRegistration(
            generation: registration.generation, worker: registration.worker,
            replacedGeneration: registration.replacedGeneration, inventory: registration.inventory)
    }

    /// Records a worker's heartbeat.
    /// - Throws: `StreamKitError.notFound` for an unknown, replaced or expired registration.
    public func workerHeartbeat(workerID: String, generation: UInt64) throws {
        try workers.heartbeat(workerID: workerID, generation: generation, now: configuration.clock.now())
    }

    /// Removes a worker's registration (a replaced generation does nothing).
    @discardableResult
    public func unregisterWorker(workerID: String, generation: UInt64) -> Bool {
        workers.unregister(workerID: workerID, generation: generation)
    }

    /// The live workers, sorted by id.
    public func workerInventory() -> WorkerInventory {
        let now = configuration.clock.now()
        workers.evictExpired(now: now)
        return workers.inventory(now: now)
    }
}

extension Store {
    // MARK: - Closing for the registry

    /// Closes the store unless it holds live leases or worker registrations, which live only in its memory, so
    /// that closing it would free keys that their holders still believe theirs. Expired ones are removed first.
    ///
    /// The check and the start of the close run in one step on the store, so nothing is acquired in between.
    /// - Returns: Whether the store is closed.
    func closeUnlessCoordinating() async -> Bool {
        let now = configuration.clock.now()
        leases.sweep(now: now)
        workers.evictExpired(now: now)
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
}
