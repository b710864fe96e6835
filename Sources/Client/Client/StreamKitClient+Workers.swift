import Logging
public import StreamKitEngine
import Synchronization
import Tracing

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

// MARK: - Worker presence

extension StreamKitClient {
    /// Registers a worker and keeps it alive with heartbeats in the background.
    ///
    /// Registering an id that is already registered (by this client or another) replaces that registration: the
    /// older one is **displaced**. A displaced registration ends — its heartbeats stop, it does not register
    /// again — and says so: ``WorkerPresence/state`` becomes `.displaced` and ``WorkerPresence/ended()`` throws
    /// `notFound`. (Registering again would displace the newer one in turn, and two owners of one id would
    /// take it from each other forever.) A registration the store evicted (three missed intervals) registers
    /// again when no other registration of the id is live.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - workerID: The worker's id (1–256 UTF-8 bytes); registering it again displaces the older registration.
    ///   - metadata: What the worker says about itself (up to 4 KiB).
    ///   - heartbeatInterval: How often to send a heartbeat, whole seconds from 1 to 300 (a fraction rounds up);
    ///     zero means 30 s. The store evicts a worker after three missed intervals.
    /// - Returns: The presence: its generation and counters, and ``WorkerPresence/stop()``, which unregisters.
    /// - Throws: `invalidArgument` for a bad id, metadata or interval; `storeClosing` after close.
    public func registerWorker(
        store: UUID, workerID: String, metadata: [String: String] = [:], heartbeatInterval: Duration = .seconds(30)
    ) async throws -> WorkerPresence {
        let (seconds, attoseconds) = heartbeatInterval.components
        let heartbeatSeconds = Int(clamping: seconds) + (attoseconds > 0 ? 1 : 0)
        let registration = try await observer.run("registerWorker", .init(store: store)) {
            try check(store: store, names: [])
            return try await transport.registerWorker(
                store: store, workerID: workerID, metadata: metadata, heartbeatSeconds: heartbeatSeconds)
        }
        let presence = WorkerPresence(storeID: store, workerID: workerID, generation: registration.generation)
        let loop = HeartbeatLoop(
            transport: transport, clock: configuration.clock, store: store, workerID: workerID, metadata: metadata,
            heartbeatSeconds: heartbeatSeconds, interval: registration.worker.heartbeatInterval, logger: logger,
            observer: observer)
        // The heartbeats outlive the caller's span: they start no spans of their own, and what the loop traces (a
        // registration again, the final unregistration) starts a trace of its own.
        guard let task = background.start({ await ServiceContext.$current.withValue(nil) { await loop.run(presence) } })
        else {
            try? await loop.unregister(generation: registration.generation)
            throw StreamKitError.clientClosed(storeID: store)
        }
        presence.attach(task)
        return presence
    }

    /// The live workers of a store, sorted by id.
    ///
    /// - Parameter store: The store.
    /// - Returns: The inventory and its membership version.
    /// - Throws: `storeClosing` after close.
    public func workerInventory(store: UUID) async throws -> WorkerInventory {
        try await observer.run("workerInventory", .init(store: store)) {
            try check(store: store, names: [])
            return try await transport.workerInventory(store: store)
        }
    }
}

extension StreamKitClient {
    /// The live workers of a store as they change: first the current inventory, then a new one every time its
    /// `WorkerInventory.version` changes (a registration, a replacement, an unregistration, an eviction of a
    /// worker that missed three heartbeat intervals).
    ///
    /// The store pushes changes made through it at once and notices evictions on its clock; over PostgreSQL it
    /// also reads the shared inventory every `followPollInterval` (1 s) while someone watches, which brings
    /// changes made through other nodes. A slow reader gets the latest inventory, not every one in between. The
    /// store does not need to exist: until a registration creates it, the inventory is empty.
    ///
    /// Over the WebSocket transport a lost connection does not end the stream: it watches again once the
    /// transport has reconnected, and yields the current inventory when its version differs from the last one
    /// yielded. Ending the iteration (leaving the loop, or cancelling the iterating task) ends the watch on the
    /// server.
    ///
    /// ```swift
    /// for try await inventory in client.workerInventoryUpdates(store: id) {
    ///     print(inventory.version, inventory.workers.map(\.workerID))
    /// }
    /// ```
    ///
    /// - Parameter store: The store.
    /// - Returns: The inventories; iterate the stream once.
    /// - Throws: From iteration: `storeClosing` after close or when the watch ends on the other side (the
    ///   registry or server shut down); `unsupported` from a server without the `worker-watch` feature; a
    ///   permanent reconnect error (`unauthorized` …).
    public func workerInventoryUpdates(store: UUID) -> ClientStream<WorkerInventory> {
        let target = OperationObserver.Target(store: store)
        if let error = precheck(store: store, names: []) {
            return observer.stream("workerInventoryUpdates", target, tally: .none, .failing(error))
        }
        let transport = self.transport
        let lifecycle = self.lifecycle
        return observer.stream(
            "workerInventoryUpdates", target, tally: .none,
            ClientStream {
                try Task.checkCancellation()
                guard lifecycle.isOpen else { throw StreamKitError.clientClosed(storeID: store) }
                return Self.cursor(over: try await transport.watchWorkers(store: store), store: store)
            })
    }

    /// A cursor over `feed` that ends the feed when the stream ends or its iterator is dropped.
    private static func cursor(over feed: some WorkerInventoryFeed, store: UUID) -> Cursor<WorkerInventory> {
        let ending = FeedEnding(feed.cancel)
        var iterator = feed.makeAsyncIterator()
        return Cursor(next: {
            let inventory: WorkerInventory?
            do {
                inventory = try await iterator.next()
            } catch {
                ending.end()
                throw error
            }
            guard let inventory else {
                ending.end()
                if Task.isCancelled { return nil }
                throw StreamKitError(
                    code: .storeClosing, message: "the worker inventory watch ended; watch again", storeID: store)
            }
            return inventory
        })
    }
}

/// Ends a feed once: when its stream ends, or when the stream's iterator (which holds this) is dropped.
private final class FeedEnding: Sendable {
    private let cancel: @Sendable () -> Void
    private let ended = Mutex(false)

    init(_ cancel: @escaping @Sendable () -> Void) { self.cancel = cancel }

    func end() {
        guard
            !ended.withLock({ value in
                defer { value = true }
                return value
            })
        else { return }
        cancel()
    }

    deinit { end() }
}

/// Sends a worker's heartbeats until cancelled, then unregisters it; or until another registration of the id
/// displaced it.
struct HeartbeatLoop: Sendable {
    let transport: any ClientTransport
    let clock: EngineClock
    let store: UUID
    let workerID: String
    let metadata: [String: String]
    let heartbeatSeconds: Int
    /// Nanoseconds between heartbeats.
    let interval: UInt64
    let logger: Logger
    let observer: OperationObserver

    func run(_ presence: WorkerPresence) async {
        while true {
            do { try await clock.sleep(max(interval, 1)) } catch { break }
            if Task.isCancelled { break }
            do {
                let generation = presence.generation
                try await observer.run("workerHeartbeat", .init(store: store), traced: false) {
                    try await transport.workerHeartbeat(store: store, workerID: workerID, generation: generation)
                }
                presence.recordHeartbeat()
            } catch let error as StreamKitError where error.code == .notFound {
                presence.recordError(error)
                guard await registerAgain(presence, after: error) else {
                    presence.recordStopped()
                    return  // Displaced: the registration is another's now, nothing to unregister.
                }
            } catch {
                presence.recordError(error)
                logger.warning(
                    "worker heartbeat failed",
                    metadata: ["store_id": "\(store)", "worker_id": "\(workerID)", "error": "\(error)"])
            }
        }
        presence.recordStopped()
        try? await unregister(generation: presence.generation)
    }

    /// The heartbeat found the registration gone (`notFound`): registers again when the store evicted it, i.e. no
    /// registration of the id is live; when another one is, this registration was displaced and ends.
    ///
    /// - Returns: false when displaced (the loop ends); true otherwise (registered again, or to be decided at the
    ///   next interval when the inventory or the registration failed).
    private func registerAgain(_ presence: WorkerPresence, after loss: StreamKitError) async -> Bool {
        let metadata: Logger.Metadata = ["store_id": "\(store)", "worker_id": "\(workerID)", "error": "\(loss)"]
        do {
            let inventory = try await observer.run("workerInventory", .init(store: store), traced: false) {
                try await transport.workerInventory(store: store)
            }
            if inventory.workers.contains(where: { $0.workerID == workerID }) {
                presence.recordDisplaced(.workerDisplaced(workerID: workerID, storeID: store, cause: loss))
                logger.warning(
                    "worker displaced by another registration of its id; heartbeats stopped", metadata: metadata)
                return false
            }
            let registration = try await observer.run("registerWorker", .init(store: store)) {
                try await transport.registerWorker(
                    store: store, workerID: workerID, metadata: self.metadata, heartbeatSeconds: heartbeatSeconds)
            }
            presence.recordRegistration(registration.generation)
            logger.warning("worker registered again after its eviction", metadata: metadata)
        } catch {
            presence.recordError(error)
        }
        return true
    }

    /// Unregisters the worker (in its own span).
    func unregister(generation: UInt64) async throws {
        try await observer.run("unregisterWorker", .init(store: store)) {
            try await transport.unregisterWorker(store: store, workerID: workerID, generation: generation)
        }
    }
}
