import Synchronization

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A store's worker inventory as it changes: first the current inventory, then a new one every time its
/// ``WorkerInventory/version`` changes (a registration, a replacement, an unregistration, an eviction of an
/// expired worker).
///
/// A slow watcher never makes the store buffer without bound: an undelivered inventory is replaced by a newer
/// one (see ``coalescedCount``), so the watcher always gets the latest. The watch ends when ``cancel()`` is called,
/// when the iterating task is cancelled, or when the store closes — except a watch made through
/// ``StoreRegistry/watchWorkers(_:)``, which outlives its store closing and ends only at the registry's shutdown.
public struct WorkerInventoryWatch: AsyncSequence, Sendable {
    public typealias Element = WorkerInventory

    let state: WorkerWatchState
    /// Forgets `state` wherever it is registered (the store, or the registry).
    let unregister: @Sendable (WorkerWatchState) async -> Void

    /// The watch's identity.
    public var id: UUID { state.id }

    /// Inventories replaced by a newer one before delivery.
    public var coalescedCount: Int { state.counters.coalesced }

    /// Inventories delivered so far.
    public var deliveredCount: Int { state.counters.delivered }

    /// Ends the watch; iteration finishes after this.
    public func cancel() {
        state.finish()
        let unregister = self.unregister
        let state = self.state
        Task { await unregister(state) }
    }

    public func makeAsyncIterator() -> Iterator { Iterator(state: state) }

    /// Iterates inventories.
    public struct Iterator: AsyncIteratorProtocol {
        let state: WorkerWatchState

        /// The next inventory; nil when the watch has ended.
        public mutating func next() async -> WorkerInventory? { await state.next() }
    }
}

/// The buffer between the store and one watcher: at most one inventory waits (a newer one replaces it and counts
/// as coalesced), so a slow watcher costs one inventory of memory, never one per change. A `Mutex` guards it.
final class WorkerWatchState: Sendable {
    private struct State {
        var pending: WorkerInventory?
        /// The newest inventory queued or delivered, against which later ones are compared.
        var last: WorkerInventory?
        var waiter: CheckedContinuation<WorkerInventory?, Never>?
        var finished = false
        var delivered = 0
        var coalesced = 0
    }

    let id = UUID()
    /// Owned by a ``StoreRegistry``: a store closing drops it without ending it (the registry registers it with
    /// the store's next open, and ends it at shutdown).
    let outlivesStore: Bool
    private let state = Mutex(State())

    init(outlivesStore: Bool = false) {
        self.outlivesStore = outlivesStore
    }

    var isFinished: Bool { state.withLock { $0.finished } }

    /// Queues `inventory` (or hands it to a waiting watcher), unless it lists the same workers as the last one at
    /// a version that is not newer (the same inventory again, or an in-memory store's empty inventory after it
    /// was closed and opened again).
    ///
    /// - Parameters:
    ///   - inventory: The inventory.
    ///   - onlyFirst: Queue it only when nothing was queued before (the empty inventory of an absent store).
    /// - Returns: false when the watch is over.
    @discardableResult
    func push(_ inventory: WorkerInventory, onlyFirst: Bool = false) -> Bool {
        let (waiter, finished) = state.withLock { state -> (CheckedContinuation<WorkerInventory?, Never>?, Bool) in
            guard !state.finished else { return (nil, true) }
            if let last = state.last {
                if onlyFirst { return (nil, false) }
                if last.version >= inventory.version, Self.sameWorkers(last, inventory) { return (nil, false) }
            }
            state.last = inventory
            if let waiter = state.waiter {
                state.waiter = nil
                state.delivered += 1
                return (waiter, false)
            }
            if state.pending != nil { state.coalesced += 1 }
            state.pending = inventory
            return (nil, false)
        }
        waiter?.resume(returning: inventory)
        return !finished
    }

    private static func sameWorkers(_ a: WorkerInventory, _ b: WorkerInventory) -> Bool {
        a.workers.map(\.workerID) == b.workers.map(\.workerID)
    }

    /// The next inventory, waiting for one; nil once finished (or when the waiting task is cancelled).
    func next() async -> WorkerInventory? {
        if let ready = state.withLock({ Self.dequeue(&$0) }) { return ready }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<WorkerInventory?, Never>) in
                let immediate: WorkerInventory?? = state.withLock { state in
                    if let inventory = Self.dequeue(&state) { return .some(inventory) }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    private static func dequeue(_ state: inout State) -> WorkerInventory? {
        guard let inventory = state.pending else { return nil }
        state.pending = nil
        state.delivered += 1
        return inventory
    }

    /// Ends the watch: a waiting watcher gets nil, a queued inventory is dropped.
    func finish() {
        let waiter = state.withLock { state in
            state.finished = true
            state.pending = nil
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Delivered and coalesced counts.
    var counters: (delivered: Int, coalesced: Int) { state.withLock { ($0.delivered, $0.coalesced) } }
}
