#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
import Logging

/// The stores of one server or process, by id: each is opened on first use under
/// `<root>/<uuid-lowercased>`, closed again once idle, and guarded by a circuit breaker against failing opens.
///
/// ```swift
/// let registry = StoreRegistry(root: "/var/lib/streamkit", configuration: .init())
/// await registry.start()
/// let status = try await registry.withStore(id) { store in
///     try await store.publish(space: "orders", segment: "o-1", payload: payload)
/// }
/// await registry.shutdown()
/// ```
///
/// Rules:
/// - **One open per store.** Concurrent first uses of a store share one open. The open runs in its own task
///   while the registry stays free: calls to other stores go on meanwhile, and so do opens of other stores.
///   File stores open on Dispatch threads, since recovery blocks its thread.
/// - **Idle eviction.** A store with no call in progress and none for
///   ``RegistryConfiguration/idleTimeout`` is closed and dropped by ``evictIdle()`` (run every
///   ``RegistryConfiguration/sweepInterval`` once ``start()`` is called). A store is never closed under a
///   call of ``withStore(_:_:)``. A call that arrives while its store is being closed waits for the close and
///   opens the store again. In-memory stores are never evicted.
/// - **Circuit breaker.** After ``RegistryConfiguration/failureThreshold`` consecutive failed opens of one
///   store, calls to it fail fast with `storeUnavailable` for ``RegistryConfiguration/failFastDuration``;
///   then one trial open goes ahead (concurrent callers share it): success closes the breaker, failure opens
///   it again.
/// - **Shutdown.** ``shutdown()`` waits for calls in progress, closes every store, and makes later calls
///   fail with `storeClosing`.
public actor StoreRegistry {
    /// The directory that holds one directory per store (created on the first file open).
    public nonisolated let root: String
    /// The registry's settings.
    public nonisolated let configuration: RegistryConfiguration

    private let clock: EngineClock
    private let logger: Logger
    private nonisolated let openExecutor = BlockingIOExecutor(label: "streamkit.registry.open")
    private var slots: [UUID: Slot] = [:]
    private var breakers: StoreOpenBreakers
    private var state: State = .running
    private var sweeper: Task<Void, Never>?
    /// Callers suspended until an open or a close of their store finishes (for tests).
    private(set) var waitingCallers = 0

    private enum State {
        case running
        case shuttingDown(Task<Void, Never>)
        case shutDown
    }

    private enum Phase {
        /// The shared open in progress; it installs `.open` (or removes the slot) before it completes.
        case opening(Task<Store, any Error>)
        case open(Store)
        /// Waiting for the last call to finish, then closing; it removes the slot before it completes.
        case closing(Store, Task<Void, Never>)
    }

    private struct Slot {
        var phase: Phase
        /// Calls in progress (``withStore(_:_:)`` bodies).
        var pins = 0
        var lastUsed: UInt64
        /// Closes waiting for `pins` to reach 0.
        var drainWaiters: [CheckedContinuation<Void, Never>] = []

        var store: Store? {
            switch phase {
            case .opening: nil
            case .open(let store), .closing(let store, _): store
            }
        }
    }

    private enum CloseReason {
        case idle(UInt64)
        case requested
        case shutdown
    }

    /// Creates a registry; nothing is opened until a store is used.
    ///
    /// - Parameters:
    ///   - root: The directory holding the stores, one directory per store named by its lowercased UUID. It
    ///     is created (with its parents) on the first file open. Unused when
    ///     ``RegistryConfiguration/inMemory`` is set.
    ///   - configuration: Store settings, idle eviction and the circuit breaker.
    public init(root: String, configuration: RegistryConfiguration = .init()) {
        self.root = root
        self.configuration = configuration
        clock = configuration.store.clock
        logger = configuration.store.logger
        breakers = StoreOpenBreakers(
            threshold: configuration.failureThreshold, failFast: configuration.failFastNanoseconds,
            capacity: configuration.maxTrackedFailures)
    }

    deinit {
        sweeper?.cancel()
    }

    // MARK: - Using stores

    /// Runs `body` with the store `id`, opening it first if needed; the store is not evicted while `body` runs.
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
        let store = try await pin(id)
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

    /// The store `id`, opening it first if needed.
    ///
    /// The handle is not pinned: once the store has been idle for ``RegistryConfiguration/idleTimeout`` it can
    /// be evicted, and its calls then fail with `storeClosing`. Prefer ``withStore(_:_:)``.
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

    /// Opens the store `id` if needed and counts one more call in progress on it, so it is not evicted until
    /// the matching ``unpin(_:)``.
    package func pin(_ id: UUID) async throws -> Store {
        while true {
            guard case .running = state else { throw StreamKitError.registryShutDown(id) }
            if let index = slots.index(forKey: id) {
                switch slots.values[index].phase {
                case .open(let store):
                    slots.values[index].pins += 1
                    slots.values[index].lastUsed = clock.now()
                    return store
                case .opening(let task):
                    waitingCallers += 1
                    defer { waitingCallers -= 1 }
                    _ = try await task.value
                case .closing(_, let task):
                    waitingCallers += 1
                    defer { waitingCallers -= 1 }
                    await task.value
                }
            } else {
                let task = try beginOpen(id)
                waitingCallers += 1
                defer { waitingCallers -= 1 }
                _ = try await task.value
            }
            // The open or close has updated the slot before completing: look again.
        }
    }

    /// Ends a call counted by ``pin(_:)``, marking the store used now.
    package func unpin(_ store: Store) {
        guard let index = slots.index(forKey: store.id), slots.values[index].store === store,
            slots.values[index].pins > 0
        else { return }
        slots.values[index].pins -= 1
        slots.values[index].lastUsed = clock.now()
        guard slots.values[index].pins == 0, !slots.values[index].drainWaiters.isEmpty else { return }
        let waiters = slots.values[index].drainWaiters
        slots.values[index].drainWaiters.removeAll()
        for waiter in waiters { waiter.resume() }
    }

    /// Stores open and ready, not counting those being opened or closed.
    public var openStoreCount: Int {
        slots.values.count { slot in
            if case .open = slot.phase { true } else { false }
        }
    }

    // MARK: - Opening

    /// Starts the shared open of `id`, unless its circuit breaker is open.
    private func beginOpen(_ id: UUID) throws -> Task<Store, any Error> {
        let now = clock.now()
        switch breakers.admit(id, now: now) {
        case .closed, .trial:
            break
        case .rejected(let retryAt, let failures, let lastError):
            throw StreamKitError.storeUnavailable(id, failures: failures, retryIn: retryAt - now, lastError: lastError)
        }
        // Runs on the registry only before and after the open itself, which is not isolated to it.
        let task = Task { try await self.runOpen(id) }
        slots[id] = Slot(phase: .opening(task), lastUsed: now)
        return task
    }

    /// Opens `id`, then records the outcome: installs the store, or removes the slot and counts the failure.
    private func runOpen(_ id: UUID) async throws -> Store {
        let started = clock.now()
        let store: Store
        do {
            store = try await openStore(id)
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
        let now = clock.now()
        guard let index = slots.index(forKey: id) else {
            // Unreachable: only this task replaces an opening slot. Do not leak the store.
            await store.close()
            throw StreamKitError(code: .internalError, message: "the registry lost an opening store", storeID: id)
        }
        slots.values[index].phase = .open(store)
        slots.values[index].lastUsed = now
        logger.info(
            "store opened by registry",
            metadata: [
                "store_id": "\(id)", "open_ms": "\((now - min(now, started)) / 1_000_000)",
                "open_stores": "\(openStoreCount)", "after_breaker": "\(wasTrial)",
            ])
        return store
    }

    /// Opens `id` without touching the registry's state (not isolated to it).
    private nonisolated func openStore(_ id: UUID) async throws -> Store {
        let name = id.uuidString.lowercased()
        let directory = root.hasSuffix("/") ? root + name : root + "/" + name
        if let opener = configuration.opener {
            return try await opener(id, directory, configuration.store)
        }
        if configuration.inMemory {
            return Store.inMemory(id: id, configuration: configuration.store)
        }
        let root = root
        let storeConfiguration = configuration.store
        return try await withTaskExecutorPreference(openExecutor) {
            do {
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            } catch {
                throw StreamKitError.registryRoot(root, error, id: id)
            }
            return try await Store.open(id: id, directory: directory, configuration: storeConfiguration)
        }
    }

    // MARK: - Closing

    /// Closes and drops every store that has no call in progress and has not been used for
    /// ``RegistryConfiguration/idleTimeout``, and returns once they are closed.
    ///
    /// Does nothing for in-memory stores (closing one would drop its data) and after ``shutdown()``.
    /// - Complexity: O(n) in the number of open stores, plus the closes.
    public func evictIdle() async {
        guard case .running = state, configuration.evictsIdleStores else { return }
        let now = clock.now()
        let timeout = configuration.idleTimeoutNanoseconds
        var closes: [Task<Void, Never>] = []
        for (id, slot) in slots {
            guard case .open(let store) = slot.phase, slot.pins == 0 else { continue }
            let idle = now - min(now, slot.lastUsed)
            guard idle >= timeout else { continue }
            closes.append(beginClose(id, store, reason: .idle(idle)))
        }
        for close in closes { await close.value }
    }

    /// Closes the store `id` once its calls in progress have finished, so that the next call opens it again
    /// (for instance after a `storage` error, which leaves a store unable to write until it is reopened).
    ///
    /// Returns at once, without waiting for the close, so it is safe to call from inside ``withStore(_:_:)``.
    /// Does nothing when the store is not open, for in-memory stores (closing one would drop its data), and
    /// after ``shutdown()``.
    ///
    /// - Parameter id: The store's id.
    public func evict(_ id: UUID) {
        guard case .running = state, configuration.evictsIdleStores, case .open(let store)? = slots[id]?.phase
        else { return }
        _ = beginClose(id, store, reason: .requested)
    }

    /// Marks the store closing (new calls wait) and starts closing it once its calls have finished.
    private func beginClose(_ id: UUID, _ store: Store, reason: CloseReason) -> Task<Void, Never> {
        let task = Task { await self.finishClose(id, store, reason: reason) }
        slots[id]?.phase = .closing(store, task)
        return task
    }

    private func finishClose(_ id: UUID, _ store: Store, reason: CloseReason) async {
        while let slot = slots[id], slot.store === store, slot.pins > 0 {
            await withCheckedContinuation { slots[id]?.drainWaiters.append($0) }
        }
        await store.close()
        if slots[id]?.store === store { slots[id] = nil }
        switch reason {
        case .idle(let idle):
            logger.info(
                "store evicted",
                metadata: [
                    "store_id": "\(id)", "idle_s": "\(idle / 1_000_000_000)", "open_stores": "\(openStoreCount)",
                ])
        case .requested:
            logger.info(
                "store evicted on request", metadata: ["store_id": "\(id)", "open_stores": "\(openStoreCount)"])
        case .shutdown:
            break
        }
    }

    // MARK: - Lifecycle

    /// Starts the background sweep that calls ``evictIdle()`` every ``RegistryConfiguration/sweepInterval``
    /// (on the store clock). Calling it again, or after ``shutdown()``, does nothing.
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
            }
        }
    }

    /// Stops the sweep, waits for the calls in progress, and closes every store. Later calls fail with
    /// `storeClosing`. Calling it again waits for the first shutdown to finish.
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
            var opens: [Task<Store, any Error>] = []
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
        state = .shutDown
        logger.info("store registry shut down", metadata: ["stores_closed": "\(closed)"])
    }
}
