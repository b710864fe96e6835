/// The live workers of a store, sorted by id, with a version that identifies the membership.
///
/// The version increases whenever a worker registers, is replaced by a new registration of its id,
/// unregisters or is evicted; heartbeats do not change it (they only move `lastSeenAt`). Keep the inventory
/// with the highest version to know the latest membership.
public struct WorkerInventory: Sendable, Hashable {
    /// The live workers, sorted by `workerID` in UTF-8 byte order.
    public let workers: [WorkerInfo]
    /// Increases with every change of membership in the store's registry; 0 before the first registration.
    public let version: UInt64

    /// Creates an inventory (the registry creates them; this is for decoding and tests).
    ///
    /// - Parameters:
    ///   - workers: The workers; they are sorted by id in UTF-8 byte order.
    ///   - version: The membership version.
    public init(workers: [WorkerInfo], version: UInt64) {
        self.workers = workers.sorted { $0.workerID.utf8.lexicographicallyPrecedes($1.workerID.utf8) }
        self.version = version
    }

    /// The inventory of a store without workers.
    public static let empty = WorkerInventory(workers: [], version: 0)
}
