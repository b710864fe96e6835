/// What a store that does not exist answers: exactly what a new, empty store would, computed without creating
/// one.
///
/// Only writes create a store (``StoreRegistry/withStore(_:_:)``); reads and the coordination calls that need
/// an existing lease or registration reach a store only if it exists (``StoreRegistry/withExistingStore(_:_:)``)
/// and otherwise answer with these, so that a request naming an unknown store leaves nothing behind. The
/// remaining answers are plain: no entry, no names, no status, no lease, an empty worker inventory
/// (``WorkerInventory/empty``), and `false` for an unregistration.
package enum AbsentStore {
    /// ``Store/renewLease(_:ttlSeconds:)`` of a store that does not exist.
    /// - Throws: `leaseNotHeld` (the lease is not held), or `invalidArgument` for a bad key, holder or ttl.
    package static func renewLease(_ lease: Lease, ttlSeconds: Double? = nil) throws -> Lease {
        var empty = LeaseTable()
        let ttl = ttlSeconds.map(Store.nanoseconds) ?? lease.ttl
        return try empty.renew(key: lease.key, holder: lease.holder, fencingToken: lease.fencingToken, ttl: ttl, now: 0)
    }

    /// ``Store/releaseLease(_:)`` of a store that does not exist.
    /// - Throws: `leaseNotHeld` (the lease is not held), or `invalidArgument` for a bad key or holder.
    package static func releaseLease(_ lease: Lease) throws {
        var empty = LeaseTable()
        try empty.release(key: lease.key, holder: lease.holder, fencingToken: lease.fencingToken, now: 0)
    }

    /// ``Store/workerHeartbeat(workerID:generation:)`` of a store that does not exist.
    /// - Throws: `notFound`: the worker is not registered (it must register, which creates the store).
    package static func workerHeartbeat(workerID: String, generation: UInt64) throws {
        var empty = WorkerRegistry()
        try empty.heartbeat(workerID: workerID, generation: generation, now: 0)
    }
}
