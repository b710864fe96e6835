/// The workers registered with one store: registration with a generation, heartbeats, eviction after three
/// missed intervals, and the inventory of live workers.
///
/// A plain value that the store mutates inside its actor, passing its monotonic clock reading (`now`,
/// nanoseconds) to every call, so the registry itself never reads a clock and tests are deterministic.
///
/// Rules:
/// - Registering an id that is already registered **replaces** the older registration. Each registration gets
///   a generation, unique and increasing across the registry; heartbeats and unregistration must name it, so
///   the replaced holder's later heartbeats are refused (`notFound`) and its unregistration does nothing.
/// - A worker is live while `now ≤ lastSeenAt + 3 × heartbeatInterval`; after that it counts as gone: the
///   inventory leaves it out and its heartbeats are refused, and ``evictExpired(now:)`` removes it.
/// - ``version`` increases on every membership change (register, replace, unregister, evict), not on
///   heartbeats.
package struct WorkerRegistry: Sendable {
    /// The outcome of a registration.
    package struct Registration: Sendable, Hashable {
        /// The registration's generation: pass it to ``WorkerRegistry/heartbeat(workerID:generation:now:)`` and
        /// ``WorkerRegistry/unregister(workerID:generation:)``.
        package let generation: UInt64
        /// The registered worker.
        package let worker: WorkerInfo
        /// The generation of the older registration of the same id that this one replaced, if any: the store
        /// closes that registration's connection.
        package let replacedGeneration: UInt64?
        /// Workers evicted to make room (only when the registry was full), sorted by id.
        package let evicted: [String]
        /// The live workers after the registration.
        package let inventory: WorkerInventory
    }

    private struct Slot: Sendable {
        var info: WorkerInfo
        let generation: UInt64
    }

    private var slots: [String: Slot] = [:]
    private var lastGeneration: UInt64 = 0
    /// The membership version, increased by every register, replace, unregister and eviction.
    package private(set) var version: UInt64 = 0
    /// The most workers registered at once; registering a new id beyond it throws `limitExceeded`.
    package let maxWorkers: Int
    /// The most UTF-8 bytes of metadata (keys plus values) per worker.
    package let maxMetadataBytes: Int

    /// Creates an empty registry.
    ///
    /// - Parameters:
    ///   - maxWorkers: The most workers at once (default 10,000); values below 1 count as 1.
    ///   - maxMetadataBytes: The most metadata bytes per worker, keys plus values (default 4,096).
    package init(maxWorkers: Int = 10_000, maxMetadataBytes: Int = 4_096) {
        self.maxWorkers = max(1, maxWorkers)
        self.maxMetadataBytes = max(0, maxMetadataBytes)
    }

    /// The number of registrations held, including workers past their deadline not yet evicted.
    package var count: Int { slots.count }

    /// Registers a worker, replacing any older registration of the same id.
    ///
    /// - Parameters:
    ///   - workerID: The worker's id, 1 … 256 UTF-8 bytes.
    ///   - metadata: What the worker says about itself, at most ``maxMetadataBytes`` UTF-8 bytes (keys plus
    ///     values).
    ///   - heartbeatInterval: How often the worker will send heartbeats, nanoseconds: 1 s … 300 s, or 0 for
    ///     the 30 s default.
    ///   - now: The store's monotonic clock, nanoseconds.
    /// - Returns: The generation to quote in heartbeats, what was replaced or evicted, and the inventory.
    /// - Throws: `invalidArgument` for a bad id, interval or metadata; `limitExceeded` when the id is new and
    ///   ``maxWorkers`` workers are registered even after evicting the expired ones.
    /// - Complexity: O(n log n) for the returned inventory.
    package mutating func register(
        workerID: String, metadata: [String: String], heartbeatInterval: UInt64, now: UInt64
    ) throws(StreamKitError) -> Registration {
        try CoordinationLimits.checkName(workerID, "worker id")
        let interval = heartbeatInterval == 0 ? CoordinationLimits.defaultHeartbeatInterval : heartbeatInterval
        guard interval >= CoordinationLimits.minHeartbeatInterval, interval <= CoordinationLimits.maxHeartbeatInterval
        else { throw .invalidHeartbeatInterval(heartbeatInterval) }
        let metadataBytes = metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        guard metadataBytes <= maxMetadataBytes else {
            throw .workerMetadataTooLarge(bytes: metadataBytes, limit: maxMetadataBytes)
        }

        var evicted: [String] = []
        if slots[workerID] == nil, slots.count >= maxWorkers {
            evicted = evictExpired(now: now)
            guard slots.count < maxWorkers else { throw .workerRegistryFull(limit: maxWorkers) }
        }
        lastGeneration += 1
        let info = WorkerInfo(
            workerID: workerID, metadata: metadata, heartbeatInterval: interval, registeredAt: now, lastSeenAt: now)
        let replaced = slots.updateValue(Slot(info: info, generation: lastGeneration), forKey: workerID)
        version += 1
        return Registration(
            generation: lastGeneration, worker: info, replacedGeneration: replaced?.generation, evicted: evicted,
            inventory: inventory(now: now))
    }

    /// Records a heartbeat of a live registration.
    ///
    /// - Parameters:
    ///   - workerID: The worker's id.
    ///   - generation: The generation its registration returned.
    ///   - now: The store's monotonic clock, nanoseconds.
    /// - Throws: `notFound` when the id is not registered, the registration was replaced by a newer one, or the
    ///   worker missed three intervals (it must register again); the message says which.
    package mutating func heartbeat(workerID: String, generation: UInt64, now: UInt64) throws(StreamKitError) {
        guard let slot = slots[workerID] else { throw .workerNotRegistered(workerID) }
        guard slot.generation == generation else {
            if generation < slot.generation {
                throw .workerReplaced(workerID, generation: generation, current: slot.generation)
            }
            throw .workerNotRegistered(workerID)
        }
        guard slot.info.isLive(at: now) else { throw .workerExpired(workerID) }
        let info = slot.info
        slots[workerID]?.info = WorkerInfo(
            workerID: info.workerID, metadata: info.metadata, heartbeatInterval: info.heartbeatInterval,
            registeredAt: info.registeredAt, lastSeenAt: max(info.lastSeenAt, now))
    }

    /// Removes a registration; does nothing when `generation` is not the current one (the registration was
    /// already replaced, evicted or removed), so a replaced holder cannot remove its successor.
    ///
    /// - Parameters:
    ///   - workerID: The worker's id.
    ///   - generation: The generation its registration returned.
    /// - Returns: Whether a registration was removed (and the version increased).
    @discardableResult
    package mutating func unregister(workerID: String, generation: UInt64) -> Bool {
        guard let slot = slots[workerID], slot.generation == generation else { return false }
        slots[workerID] = nil
        version += 1
        return true
    }

    /// Removes the workers that missed three heartbeat intervals at `now` (`lastSeenAt + 3 × interval < now`).
    ///
    /// - Parameter now: The store's monotonic clock, nanoseconds.
    /// - Returns: The evicted ids, sorted in UTF-8 byte order; the version increased once if not empty.
    /// - Complexity: O(n).
    @discardableResult
    package mutating func evictExpired(now: UInt64) -> [String] {
        let expired = slots.values.filter { !$0.info.isLive(at: now) }.map(\.info.workerID)
        guard !expired.isEmpty else { return [] }
        for id in expired { slots[id] = nil }
        version += 1
        return expired.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// When the first registered worker will have missed three intervals (its ``WorkerInfo/liveUntil`` + 1 ns):
    /// the earliest ``evictExpired(now:)`` can change the membership without a call; nil without workers.
    ///
    /// - Complexity: O(n).
    package var nextExpiry: UInt64? {
        slots.values.lazy.map { $0.info.liveUntil }.min().map { $0 == .max ? .max : $0 + 1 }
    }

    /// The workers live at `now`, sorted by id, with the current version.
    ///
    /// Workers past their deadline are left out even before ``evictExpired(now:)`` removes them (the store
    /// evicts before publishing an inventory, so the version then reflects it).
    ///
    /// - Parameter now: The store's monotonic clock, nanoseconds.
    /// - Returns: The inventory.
    /// - Complexity: O(n log n).
    package func inventory(now: UInt64) -> WorkerInventory {
        WorkerInventory(workers: slots.values.map(\.info).filter { $0.isLive(at: now) }, version: version)
    }
}
