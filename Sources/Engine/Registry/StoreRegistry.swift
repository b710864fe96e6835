import Logging
import Metrics

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The stores of one server or process, by id: each is opened on first use under
/// `<root>/<uuid-lowercased>`, closed again once idle or when too many are open, and guarded by a circuit
/// breaker against failing opens.
///
/// ```swift
/// let registry = StoreRegistry(root: "/var/lib/streamkit", configuration: .init())
/// await registry.start()
/// let status = try await registry.withStore(id) { store in
///     try await store.publish(space: "orders", segment: "o-1", payload: payload)
/// }
/// let last = try await registry.withExistingStore(id) { store in
///     try await store.peek(space: "orders", segment: "o-1")
/// } ?? nil
/// await registry.shutdown()
/// ```
///
/// Rules:
/// - **Only writes create stores.** ``withStore(_:_:)`` and ``store(_:)`` open a store, creating it when it
///   does not exist: use them for writes (and for leases and worker registrations). Reads use
///   ``withExistingStore(_:_:)`` and ``existingStore(_:)``, which open a store only if it exists and otherwise
///   create nothing (answer as an empty store would: `AbsentStore`). An in-memory store exists once written.
/// - **One open per store.** Concurrent first uses of a store share one open. The open runs in its own task
///   while the registry stays free: calls to other stores go on meanwhile, and so do opens of other stores.
///   File stores open on Dispatch threads, since recovery blocks its thread. A read that finds no store while a
///   writer's open is running waits for that open and gets the store; a writer that finds a read's open running
///   waits for it and creates the store if the read found none.
/// - **Bounded.** At most ``RegistryConfiguration/maxOpenStores`` stores stay open: opening one more closes the
///   least recently used store that is not in use. In use means a call in progress (``withStore(_:_:)``,
///   ``withExistingStore(_:_:)``, `pin(_:)`) or live leases or worker registrations, which live only in the
///   store's memory. When every open store is in use the registry goes over the bound (logged at Warn) and
///   closes the excess as they fall out of use.
/// - **Idle eviction.** A store not in use and unused for ``RegistryConfiguration/idleTimeout`` is closed and
///   dropped by ``evictIdle()`` (run every ``RegistryConfiguration/sweepInterval`` once ``start()`` is called).
///   A store is never closed under a call. A call that arrives while its store is being closed waits for the
///   close and opens the store again. In-memory stores are never closed before shutdown.
/// - **Subscriptions pin nothing and outlive their store.** ``subscribe(_:space:segment:heartbeatSeconds:)``
///   registers with the store while it is open and waits in the registry while it is closed or does not exist
///   yet; the store's next open (a writer creating it, or any call reopening it) registers it again, which
///   delivers the current statuses (again, if nothing changed meanwhile), then live ones.
/// - **Circuit breaker.** After ``RegistryConfiguration/failureThreshold`` consecutive failed opens of one
///   store, calls to it fail fast with `storeUnavailable` for ``RegistryConfiguration/failFastDuration``;
///   then one trial open goes ahead (concurrent callers share it): success closes the breaker, failure opens
///   it again.
/// - **Shutdown.** ``shutdown()`` waits for calls in progress, closes every store, ends every subscription, and
///   makes later calls fail with `storeClosing`.
public actor StoreRegistry {
    /// The directory that holds one directory per store (created on the first file open that creates a store).
    public nonisolated let root: String
    /// The registry's settings.
    public nonisolated let configuration: RegistryConfiguration

    private let clock: EngineClock
    let logger: Logger
    /// The bound applied: ``RegistryConfiguration/maxOpenStores``, or less when the open-file limit is low.
    private let openStoreLimit: Int
    nonisolated let openExecutor = BlockingIOExecutor(label: "streamkit.registry.open")
    private var slots: [UUID: Slot] = [:]
    /// Subscriptions made through the registry, by store: registered with the store while it is open, waiting
    /// here while it is not (or does not exist yet).
    private var subscriptions: [UUID: [SubscriptionState]] = [:]
    /// Watches of worker inventories made through the registry, by store, kept as ``subscriptions`` are.
    private var workerWatches: [UUID: [WorkerWatchState]] = [:]
    private var breakers: StoreOpenBreakers
    private(set) var state: State = .running
    private var sweeper: Task<Void, Never>?
    /// Slots in the `.open` phase (what ``openStoreCount`` counts), for the bound check on every unpin.
    private var openCount = 0 {
        didSet { openStoresMetric.record(openCount) }
    }
    /// Stores open now (`streamkit_open_stores`).
    private let openStoresMetric: Gauge
    /// The next use's rank: the least recently used store has the lowest (the clock can stand still).
    private var nextUse: UInt64 = 0
    /// Over the bound with every open store in use: warned once until back under it.
    private var overBound = false
    /// Callers suspended until an open or a close of their store finishes (for tests).
    private(set) var waitingCallers = 0

    enum State {
        case running
        case shuttingDown(Task<Void, Never>)
        case shutDown
    }

    private enum Phase {
        /// The shared open in progress; it installs `.open` (or removes the slot) before it completes. Nil when
        /// it only opens an existing store and there is none.
        case opening(Task<Store?, any Error>)
        case open(Store)
        /// Waiting for the last call to finish, then closing; it removes the slot (or, when the store declines
        /// to close, makes it `.open` again) before it completes.
        case closing(Store, Task<Void, Never>)
    }

    private struct Slot {
        var phase: Phase
        /// Calls in progress (``withStore(_:_:)`` bodies).
        var pins = 0
        /// Clock reading of the last use, for idle eviction.
        var lastUsed: UInt64
        /// Rank of the last use, for closing the least recently used store first.
        var useRank: UInt64
        /// Closes waiting for `pins` to reach 0.
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
        /// Registry subscriptions registered with this open store.
        var attached: Set<UUID> = []
        /// Not chosen for the bound until its next use or the next sweep: just opened (its callers have yet to
        /// pin it), or it declined to close (live leases or workers).
        var spared = false

        var store: Store? {
            switch phase {
            case .opening: nil
            case .open(let store), .closing(let store, _): store
            }
        }
    }

    private enum CloseReason {
        case idle(UInt64)
        case bound
        case requested
        case shutdown
    }

    /// Creates a registry; nothing is opened until a store is used.
    ///
    /// - Parameters:
    ///   - root: The directory holding the stores, one directory per store named by its lowercased UUID. It
    ///     is created (with its parents) when the first store is created. Unused when
    ///     ``RegistryConfiguration/inMemory`` is set.
    ///   - configuration: Store settings, the open-store bound, idle eviction and the circuit breaker.
    public init(root: String, configuration: RegistryConfiguration = .init()) {
        self.root = root
        self.configuration = configuration
        clock = configuration.store.clock
        logger = configuration.store.logger
        openStoresMetric = Gauge(
            label: "streamkit_open_stores", factory: configuration.store.metricsFactory ?? MetricsSystem.factory)
        breakers = StoreOpenBreakers(
            threshold: configuration.failureThreshold, failFast: configuration.failFastNanoseconds,
            capacity: configuration.maxTrackedFailures)
        let openFileLimit = RegistryConfiguration.processOpenFileLimit
        openStoreLimit = configuration.openStoreLimit(openFileLimit: openFileLimit)
        if openStoreLimit < max(1, configuration.maxOpenStores) {
            logger.warning(
                "maxOpenStores lowered to fit the open-file limit; raise the limit (ulimit -n) to keep more stores open",
                metadata: [
                    "max_open_stores": "\(configuration.maxOpenStores)", "applied": "\(openStoreLimit)",
                    "open_file_limit": "\(openFileLimit ?? 0)",
                    "descriptors_per_store": "\(RegistryConfiguration.descriptorsPerStore)",
                ])
        }
    }

    deinit {
        sweeper?.cancel()
    }

    // MARK: - Using stores

    /// Runs `body` with the store `id`, opening it first if needed and creating it when it does not exist; the
    /// store is not closed while `body` runs. Use it for writes; reads use ``withExistingStore(_:_:)``.
    ///
    /// `body` runs in the caller's isolation, not on the registry.
    ///
    /// - Parameters:
    ///   - id: The store's id.
    ///   - body: Work with the store. Do not call ``shutdown()`` from it: shutdown waits for it to return.
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws; `storeUnavailable` (retryable) while the store's circuit breaker is open;
    ///   `storeClosing` after ``shutdown()``; the open's error (`storage`, `corrupt` …) when opening fails.
    /// - Complexity: Two hops to the registry (pin and unpin) when the store is open.
    nonisolated(nonsending) public func withStore<T>(
        _ id: UUID, _ body: nonisolated(nonsending) (Store) async throws -> T
    ) async throws -> T {
        try await run(body, pinned: try await pin(id))
    }

    /// Runs `body` with the store `id` if it exists, opening it first if needed; creates nothing. The store is
    /// not closed while `body` runs. Use it for reads: a store that does not exist answers as an empty one
    /// would (`AbsentStore`), and a request naming an unknown store leaves no trace.
    ///
    /// `body` runs in the caller's isolation, not on the registry.
    ///
    /// - Parameters:
    ///   - id: The store's id.
    ///   - body: Work with the store. Do not call ``shutdown()`` from it: shutdown waits for it to return.
    /// - Returns: What `body` returns, or nil (without calling `body`) when the store does not exist.
    /// - Throws: As ``withStore(_:_:)``.
    nonisolated(nonsending) public func withExistingStore<T>(
        _ id: UUID, _ body: nonisolated(nonsending) (Store) async throws -> T
    ) async throws -> T? {
        guard let store = try await pinExisting(id) else { return nil }
        return try await run(body, pinned: store)
    }

    /// Runs `body` with `store`, pinned by the caller, and unpins it.
    nonisolated(nonsending) private func run<T>(
        _ body: nonisolated(nonsending) (Store) async throws -> T, pinned store: Store
    ) async throws -> T {
        let result: T
        do {
            result = try await body(store)
        } catch {
            await unpin(store)
            throw error
        }
        await unpin(store)
        return result
    }

    /// The store `id`, opening it first if needed and creating it when it does not exist.
    ///
    /// The handle is not pinned: once the store is idle, or the least recently used when the registry opens
    /// one store too many, it can be closed, and its calls then fail with `storeClosing`. Prefer
    /// ``withStore(_:_:)``.
    ///
    /// - Parameter id: The store's id.
    /// - Returns: The open store.
    /// - Throws: `storeUnavailable` (retryable) while the store's circuit breaker is open; `storeClosing` after
    ///   ``shutdown()``; the open's error when opening fails.
    public func store(_ id: UUID) async throws -> Store {
        let store = try await pin(id)
        unpin(store)
        return store
    }

    /// The store `id` if it exists, opening it first if needed; creates nothing. Not pinned, like ``store(_:)``.
    ///
    /// - Parameter id: The store's id.
    /// - Returns: The open store, or nil when it does not exist.
    /// - Throws: As ``store(_:)``.
    public func existingStore(_ id: UUID) async throws -> Store? {
        guard let store = try await pinExisting(id) else { return nil }
        unpin(store)
        return store
    }

    /// Opens the store `id` if needed, creating it when it does not exist, and counts one more call in
    /// progress on it, so it is not closed until the matching ``unpin(_:)``.
    package func pin(_ id: UUID) async throws -> Store {
        guard let store = try await pin(id, creating: true) else {
            // Unreachable: an open that may create returns a store or throws.
            throw StreamKitError(code: .internalError, message: "the registry did not create a store", storeID: id)
        }
        return store
    }

    /// Like ``pin(_:)`` for a store that exists; nil (and nothing created or pinned) when it does not.
    package func pinExisting(_ id: UUID) async throws -> Store? {
        try await pin(id, creating: false)
    }

    private func pin(_ id: UUID, creating: Bool) async throws -> Store? {
        while true {
            guard case .running = state else { throw StreamKitError.registryShutDown(id) }
            let open: Task<Store?, any Error>
            if let index = slots.index(forKey: id) {
                switch slots.values[index].phase {
                case .open(let store):
                    slots.values[index].pins += 1
                    markUsed(index)
                    return store
                case .opening(let task):
                    open = task
                case .closing(_, let task):
                    waitingCallers += 1
                    defer { waitingCallers -= 1 }
                    await task.value
                    continue
                }
            } else {
                // An in-memory store is never closed before shutdown: without a slot it was never written.
                guard creating || !configuration.keepsStoresInMemory else { return nil }
                open = try beginOpen(id, creating: creating)
            }
            waitingCallers += 1
            defer { waitingCallers -= 1 }
            // An open that found no store answers the readers that waited for it; a writer goes on to create it.
            if try await open.value == nil, !creating { return nil }
            // The open has updated the slot before completing: look again.
        }
    }

    /// Ends a call counted by ``pin(_:)``, marking the store used now.
    package func unpin(_ store: Store) {
        guard let index = slots.index(forKey: store.id), slots.values[index].store === store,
            slots.values[index].pins > 0
        else { return }
        slots.values[index].pins -= 1
        markUsed(index)
        guard slots.values[index].pins == 0 else { return }
        if !slots.values[index].drainWaiters.isEmpty {
            let waiters = slots.values[index].drainWaiters
            slots.values[index].drainWaiters.removeAll()
            for waiter in waiters { waiter.resume() }
        }
        if openCount > openStoreLimit { enforceBound() }
    }

    private func markUsed(_ index: Dictionary<UUID, Slot>.Index) {
        slots.values[index].lastUsed = clock.now()
        slots.values[index].useRank = nextUse
        slots.values[index].spared = false
        nextUse &+= 1
    }

    /// Stores open and ready, not counting those being opened or closed.
    public var openStoreCount: Int {
        slots.values.count { slot in
            if case .open = slot.phase { true } else { false }
        }
    }

    /// The ids of the stores open and ready (for tests).
    var openStoreIDs: Set<UUID> {
        Set(slots.compactMap { id, slot in if case .open = slot.phase { id } else { nil } })
    }

    // MARK: - Subscriptions

    /// Subscribes to the statuses of one segment of the store `id`, or of every segment of a space with
    /// `segment: "*"`, without creating the store or keeping it open.
    ///
    /// If the store exists it is opened and the subscription gets its current statuses at once, then one per
    /// commit. If it does not exist yet, the subscription waits and gets the statuses from the first commit of
    /// the writer that creates it. When the store is closed (idle, the open-store bound, ``evict(_:)``) the
    /// subscription is kept and registered again when the store next opens, which delivers the current statuses
    /// again. It ends when cancelled, when the iterating task is cancelled, or at ``shutdown()``.
    ///
    /// - Parameters:
    ///   - id: The store's id.
    ///   - space: The space.
    ///   - segment: A segment name, or `"*"` for all.
    ///   - heartbeatSeconds: When set (1–300), a heartbeat status (`isHeartbeat`) arrives after every interval
    ///     without an update, also while the store does not exist.
    /// - Returns: The subscription.
    /// - Throws: `invalidArgument` for an empty name or a heartbeat outside 1–300 s; `storeClosing` after
    ///   ``shutdown()``; the open's errors when the store exists and cannot be opened.
    public func subscribe(
        _ id: UUID, space: String, segment: String = "*", heartbeatSeconds: Int? = nil
    )
        async throws -> StatusSubscription
    {
        try StatusSubscription.validate(space: space, segment: segment, heartbeatSeconds: heartbeatSeconds)
        guard case .running = state else { throw StreamKitError.registryShutDown(id) }
        let subscription = SubscriptionState(
            space: space, segment: segment, outlivesStore: true, metricsFactory: configuration.store.metricsFactory)
        // Listed before the open, which registers every listed subscription before the store can be written.
        subscriptions[id, default: []].append(subscription)
        do {
            if let store = try await pinExisting(id) {
                if let index = slots.index(forKey: id), slots.values[index].store === store,
                    slots.values[index].attached.insert(subscription.id).inserted
                {
                    await store.register(subscription)
                }
                unpin(store)
            }
        } catch {
            forget(subscription, of: id)
            throw error
        }
        return StatusSubscription(
            state: subscription,
            heartbeat: StatusSubscription.heartbeat(for: subscription, seconds: heartbeatSeconds, clock: clock),
            unregister: { [self] subscription in await unsubscribe(subscription, of: id) })
    }

    /// Subscriptions of the store `id` that the registry keeps (registered with it or waiting), for tests.
    func subscriptionCount(of id: UUID) -> Int { subscriptions[id]?.count ?? 0 }

    private func unsubscribe(_ subscription: SubscriptionState, of id: UUID) async {
        forget(subscription, of: id)
        guard let index = slots.index(forKey: id), let store = slots.values[index].store,
            slots.values[index].attached.remove(subscription.id) != nil
        else { return }
        await store.unregister(subscription)
    }

    /// Watches the worker inventory of the store `id` without creating the store or keeping it open (as
    /// ``subscribe(_:space:segment:heartbeatSeconds:)`` does for statuses); see ``Store/watchWorkers()``.
    ///
    /// If the store exists it is opened and the watch gets its current inventory, then one per change. If it does
    /// not exist yet, the watch gets the empty inventory, then the inventories of the store once a registration
    /// creates it. When the store is closed (idle, the open-store bound, ``evict(_:)``; in memory only without
    /// registered workers, over shared presence only without watches) the watch is kept and registered again when
    /// the store next opens. It ends when cancelled, when the iterating task is cancelled, or at ``shutdown()``.
    ///
    /// - Parameter id: The store's id.
    /// - Returns: The watch.
    /// - Throws: `storeClosing` after ``shutdown()``; the open's errors when the store exists and cannot be
    ///   opened.
    public func watchWorkers(_ id: UUID) async throws -> WorkerInventoryWatch {
        guard case .running = state else { throw StreamKitError.registryShutDown(id) }
        let watch = WorkerWatchState(outlivesStore: true)
        // Listed before the open, which registers every listed watch before the store can be written.
        workerWatches[id, default: []].append(watch)
        do {
            if let store = try await pinExisting(id) {
                if let index = slots.index(forKey: id), slots.values[index].store === store,
                    slots.values[index].attached.insert(watch.id).inserted
                {
                    await store.register(watch)
                }
                unpin(store)
            } else {
                watch.push(.empty, onlyFirst: true)
            }
        } catch {
            forget(watch, of: id)
            throw error
        }
        return WorkerInventoryWatch(state: watch, unregister: { [self] watch in await unwatch(watch, of: id) })
    }

    /// Watches of worker inventories of the store `id` that the registry keeps (registered with it or waiting).
    package func workerWatchCount(of id: UUID) -> Int { workerWatches[id]?.count ?? 0 }

    private func unwatch(_ watch: WorkerWatchState, of id: UUID) async {
        forget(watch, of: id)
        guard let index = slots.index(forKey: id), let store = slots.values[index].store,
            slots.values[index].attached.remove(watch.id) != nil
        else { return }
        await store.unregister(watch)
    }

    private func forget(_ watch: WorkerWatchState, of id: UUID) {
        workerWatches[id]?.removeAll { $0 === watch }
        if workerWatches[id]?.isEmpty == true { workerWatches[id] = nil }
    }

    private func forget(_ subscription: SubscriptionState, of id: UUID) {
        subscriptions[id]?.removeAll { $0 === subscription }
        if subscriptions[id]?.isEmpty == true { subscriptions[id] = nil }
    }

    // MARK: - Opening

    /// Starts the shared open of `id`, unless its circuit breaker is open.
    private func beginOpen(_ id: UUID, creating: Bool) throws -> Task<Store?, any Error> {
        let now = clock.now()
        switch breakers.admit(id, now: now) {
        case .closed, .trial:
            break
        case .rejected(let retryAt, let failures, let lastError):
            throw StreamKitError.storeUnavailable(id, failures: failures, retryIn: retryAt - now, lastError: lastError)
        }
        // Runs on the registry only before and after the open itself, which is not isolated to it.
        let task = Task { try await self.runOpen(id, creating: creating) }
        slots[id] = Slot(phase: .opening(task), lastUsed: now, useRank: nextUse)
        nextUse &+= 1
        return task
    }

    /// Opens `id`, then records the outcome: installs the store (after registering the subscriptions waiting
    /// for it), or removes the slot and counts the failure, or removes the slot when there is no store to open.
    private func runOpen(_ id: UUID, creating: Bool) async throws -> Store? {
        let started = clock.now()
        let opened: Store?
        do {
            opened = try await openStore(id, creating: creating)
        } catch {
            slots[id] = nil
            let failure = StreamKitError.openFailure(error, id: id)
            let now = clock.now()
            if let retryAt = breakers.recordFailure(id, error: failure.message, now: now) {
                logger.warning(
                    "store circuit breaker open: failing fast",
                    metadata: [
                        "store_id": "\(id)", "failures": "\(breakers.failures(of: id))",
                        "retry_in_ms": "\((retryAt - min(retryAt, now)) / 1_000_000)", "error": "\(failure)",
                    ])
            } else {
                logger.error("store open failed", metadata: ["store_id": "\(id)", "error": "\(failure)"])
            }
            throw failure
        }
        let wasTrial = breakers.recordSuccess(id)
        guard let store = opened else {
            slots[id] = nil  // Nothing to open, nothing created.
            return nil
        }
        // Subscriptions waiting for the store are registered before anyone can write it; more may be listed
        // while this waits for the store.
        var attached: Set<UUID> = []
        while true {
            let waiting = subscriptions[id]?.filter({ !attached.contains($0.id) }) ?? []
            let watches = workerWatches[id]?.filter({ !attached.contains($0.id) }) ?? []
            guard !waiting.isEmpty || !watches.isEmpty else { break }
            for subscription in waiting {
                attached.insert(subscription.id)
                await store.register(subscription)
            }
            for watch in watches {
                attached.insert(watch.id)
                await store.register(watch)
            }
        }
        let now = clock.now()
        guard let index = slots.index(forKey: id) else {
            // Unreachable: only this task replaces an opening slot. Do not leak the store.
            await store.close()
            throw StreamKitError(code: .internalError, message: "the registry lost an opening store", storeID: id)
        }
        slots.values[index].phase = .open(store)
        slots.values[index].lastUsed = now
        slots.values[index].attached = attached.intersection(
            (subscriptions[id]?.map(\.id) ?? []) + (workerWatches[id]?.map(\.id) ?? []))
        slots.values[index].spared = true
        openCount += 1
        logger.info(
            "store opened by registry",
            metadata: [
                "store_id": "\(id)", "open_ms": "\((now - min(now, started)) / 1_000_000)",
                "open_stores": "\(openCount)", "after_breaker": "\(wasTrial)",
            ])
        enforceBound()
        return store
    }

    /// Opens `id` without touching the registry's state (not isolated to it): nil when `creating` is false and
    /// the store does not exist.
    private nonisolated func openStore(_ id: UUID, creating: Bool) async throws -> Store? {
        let name = id.uuidString.lowercased()
        let directory = root.hasSuffix("/") ? root + name : root + "/" + name
        if let opener = configuration.opener {
            if !creating, let exists = configuration.openerStoreExists, !(await exists(id, directory)) { return nil }
            return try await opener(id, directory, configuration.store)
        }
        if configuration.inMemory {
            return creating ? Store.inMemory(id: id, configuration: configuration.store) : nil
        }
        let root = root
        let storeConfiguration = configuration.store
        return try await withTaskExecutorPreference(openExecutor) { () async throws -> Store? in
            if creating {
                do {
                    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
                } catch {
                    throw StreamKitError.registryRoot(root, error, id: id)
                }
            } else if !FileManager.default.fileExists(atPath: directory) {
                return nil  // The one place that decides whether a file store exists.
            }
            return try await Store.open(id: id, directory: directory, configuration: storeConfiguration)
        }
    }

    // MARK: - Closing

    /// Closes and drops every store that is not in use and has not been used for
    /// ``RegistryConfiguration/idleTimeout``, and returns once they are closed (a store with live leases or
    /// workers stays open). Then applies ``RegistryConfiguration/maxOpenStores`` again, also to stores that
    /// declined to close before.
    ///
    /// Does nothing for in-memory stores (closing one would drop its data) and after ``shutdown()``.
    /// - Complexity: O(n) in the number of open stores, plus the closes.
    public func evictIdle() async {
        guard case .running = state, configuration.evictsIdleStores else { return }
        let now = clock.now()
        let timeout = configuration.idleTimeoutNanoseconds
        var closes: [Task<Void, Never>] = []
        for index in slots.indices { slots.values[index].spared = false }
        for (id, slot) in slots {
            guard case .open(let store) = slot.phase, slot.pins == 0 else { continue }
            let idle = now - min(now, slot.lastUsed)
            guard idle >= timeout else { continue }
            closes.append(beginClose(id, store, reason: .idle(idle)))
        }
        enforceBound()
        for close in closes { await close.value }
    }

    /// Closes the store `id` once its calls in progress have finished, so that the next call opens it again
    /// (for instance after a `storage` error, which leaves a store unable to write until it is reopened).
    ///
    /// Returns at once, without waiting for the close, so it is safe to call from inside ``withStore(_:_:)``.
    /// Does nothing when the store is not open, for in-memory stores (closing one would drop its data), and
    /// after ``shutdown()``. Live leases and worker registrations of the store are lost; registry subscriptions
    /// are kept.
    ///
    /// - Parameter id: The store's id.
    public func evict(_ id: UUID) {
        guard case .running = state, configuration.evictsIdleStores, case .open(let store)? = slots[id]?.phase
        else { return }
        _ = beginClose(id, store, reason: .requested)
    }

    /// Starts closing least recently used stores until at most ``RegistryConfiguration/maxOpenStores`` are
    /// open, choosing among stores with no call in progress that are not spared (just opened, or just declined
    /// to close); warns once when every open store is in use.
    /// - Complexity: O(1) under the bound, else O(n log n) in the number of open stores.
    private func enforceBound() {
        guard case .running = state, configuration.evictsIdleStores else { return }
        let limit = openStoreLimit
        guard openCount > limit else {
            overBound = false
            return
        }
        assert(openCount == openStoreCount, "the registry's open count drifted")
        var candidates: [(rank: UInt64, id: UUID, store: Store)] = []
        for (id, slot) in slots {
            guard case .open(let store) = slot.phase, slot.pins == 0, !slot.spared else { continue }
            candidates.append((slot.useRank, id, store))
        }
        candidates.sort { $0.rank < $1.rank }
        for candidate in candidates.prefix(openCount - limit) {
            _ = beginClose(candidate.id, candidate.store, reason: .bound)
        }
        guard openCount > limit, !overBound else { return }
        overBound = true
        logger.warning(
            "more stores open than maxOpenStores: every open store is in use; closing the excess as they fall out of use",
            metadata: ["open_stores": "\(openCount)", "max_open_stores": "\(limit)"])
    }

    /// Marks the store closing (new calls wait) and starts closing it once its calls have finished.
    private func beginClose(_ id: UUID, _ store: Store, reason: CloseReason) -> Task<Void, Never> {
        let task = Task { await self.finishClose(id, store, reason: reason) }
        slots[id]?.phase = .closing(store, task)
        openCount -= 1
        return task
    }

    private func finishClose(_ id: UUID, _ store: Store, reason: CloseReason) async {
        while let slot = slots[id], slot.store === store, slot.pins > 0 {
            await withCheckedContinuation { slots[id]?.drainWaiters.append($0) }
        }
        switch reason {
        case .idle, .bound:
            guard await store.closeUnlessCoordinating() else {
                // Live leases or workers: closing would lose them. Calls that waited find the store open again.
                if let index = slots.index(forKey: id), slots.values[index].store === store {
                    slots.values[index].phase = .open(store)
                    slots.values[index].spared = true
                    openCount += 1
                }
                logger.debug(
                    "store kept open: it holds live leases or worker registrations", metadata: ["store_id": "\(id)"])
                enforceBound()
                return
            }
        case .requested, .shutdown:
            await store.close()
        }
        if slots[id]?.store === store { slots[id] = nil }
        switch reason {
        case .idle(let idle):
            logger.info(
                "store evicted",
                metadata: [
                    "store_id": "\(id)", "idle_s": "\(idle / 1_000_000_000)", "open_stores": "\(openCount)",
                ])
        case .bound:
            logger.info(
                "store closed for maxOpenStores (least recently used)",
                metadata: [
                    "store_id": "\(id)", "open_stores": "\(openCount)",
                    "max_open_stores": "\(openStoreLimit)",
                ])
        case .requested:
            logger.info(
                "store evicted on request", metadata: ["store_id": "\(id)", "open_stores": "\(openCount)"])
        case .shutdown:
            break
        }
    }

    /// Whether the registry runs (not shutting down), and the stores it has a slot for (opening, open, closing).
    var runningSlots: Set<UUID>? {
        guard case .running = state else { return nil }
        return Set(slots.keys)
    }

    // MARK: - Lifecycle

    /// Starts the background sweep that calls ``evictIdle()`` and ``retainClosedStores()`` every
    /// ``RegistryConfiguration/sweepInterval`` (on the store clock). Calling it again, or after ``shutdown()``, does nothing.
    public func start() {
        guard case .running = state, sweeper == nil, configuration.evictsIdleStores else { return }
        let interval = configuration.sweepIntervalNanoseconds
        guard interval > 0 else { return }
        let clock = self.clock
        sweeper = Task { [weak self] in
            while true {
                do { try await clock.sleep(interval) } catch { return }
                guard let self else { return }
                await self.evictIdle()
                await self.retainClosedStores()
            }
        }
    }

    /// Stops the sweep, waits for the calls in progress, closes every store and ends every subscription. Later
    /// calls fail with `storeClosing`. Calling it again waits for the first shutdown to finish.
    public func shutdown() async {
        switch state {
        case .shutDown:
            return
        case .shuttingDown(let task):
            await task.value
        case .running:
            let task = Task { await self.closeAll() }
            state = .shuttingDown(task)
            sweeper?.cancel()
            sweeper = nil
            await task.value
        }
    }

    private func closeAll() async {
        var closed = 0
        while !slots.isEmpty {
            var opens: [Task<Store?, any Error>] = []
            var closes: [Task<Void, Never>] = []
            for (id, slot) in slots {
                switch slot.phase {
                case .opening(let task):
                    opens.append(task)
                case .open(let store):
                    closes.append(beginClose(id, store, reason: .shutdown))
                    closed += 1
                case .closing(_, let task):
                    closes.append(task)
                }
            }
            for open in opens { _ = try? await open.value }
            for close in closes { await close.value }
        }
        for list in subscriptions.values { for subscription in list { subscription.finish() } }
        subscriptions.removeAll()
        for list in workerWatches.values { for watch in list { watch.finish() } }
        workerWatches.removeAll()
        state = .shutDown
        logger.info("store registry shut down", metadata: ["stores_closed": "\(closed)"])
    }
}
