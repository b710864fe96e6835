import Logging

/// What a store keeps for the watches of its worker inventory (``Store/watchWorkers()``).
struct WorkerWatching {
    /// The watches registered with the store.
    var watches: [WorkerWatchState] = []
    /// The newest inventory published to them (nil while nobody watches).
    var latest: WorkerInventory?
    /// In memory: the timer to the earliest possible eviction, its deadline and its number.
    var timer: Task<Void, Never>?
    var timerDeadline: UInt64?
    var timerNumber: UInt64 = 0
    /// Shared presence (``StoreStorage/coordination``): the poll of the shared inventory while someone watches.
    var poller: Task<Void, Never>?
    /// Whether the last poll failed (logged once per outage).
    var pollFailing = false
}

extension Store {
    // MARK: - Watching the worker inventory

    /// Watches the store's worker inventory: first the current inventory, then a new one every time its version
    /// changes (registration, replacement, unregistration, eviction of an expired worker).
    ///
    /// Changes made through this store arrive at once. In memory, a worker that misses three heartbeat intervals
    /// is evicted when the store's clock reaches its deadline (a timer to the earliest deadline, only while
    /// someone watches), and its eviction arrives then. When presence is shared (``StoreStorage/coordination``,
    /// PostgreSQL), the store also reads the shared inventory every
    /// ``StoreConfiguration/followPollInterval`` while someone watches, which brings changes made through other
    /// processes and evictions by the database's clock; a read that fails is retried at the next interval (the
    /// watch never reports "no workers" when it could not look).
    ///
    /// - Returns: The watch; undelivered inventories coalesce to the latest.
    /// - Throws: `.storeClosing` after close; `.storeUnavailable` when presence is shared and cannot be reached
    ///   for the first inventory.
    public func watchWorkers() async throws -> WorkerInventoryWatch {
        guard !isClosing else { throw StreamKitError.storeClosing }
        let watch = WorkerWatchState()
        if let shared = reads.storage.coordination {
            watch.push(try await shared.workerInventory(now: configuration.clock.now()))
        }
        await register(watch)
        return WorkerInventoryWatch(state: watch, unregister: { [self] watch in await unregister(watch) })
    }

    /// The watches of the worker inventory registered with the store (for tests).
    package var workerWatchCount: Int { workerWatching.watches.count }

    /// Registers a watch and hands it the current inventory (in memory: at once; shared: after reading it, when
    /// the read succeeds).
    func register(_ watch: WorkerWatchState) async {
        guard !closing else {
            if !watch.outlivesStore { watch.finish() }
            return
        }
        workerWatching.watches.append(watch)
        guard reads.storage.coordination != nil else {
            workersChanged()
            if let latest = workerWatching.latest { watch.push(latest) }
            return
        }
        await refreshSharedWorkers()
        if let latest = workerWatching.latest { watch.push(latest) }
        startWorkerPolling()
    }

    /// Forgets a watch; the last one stops the timer or the poll.
    func unregister(_ watch: WorkerWatchState) {
        workerWatching.watches.removeAll { $0 === watch }
        if workerWatching.watches.isEmpty { stopWorkerWatching() }
    }

    /// Ends the watches at close (a registry's are only dropped: the registry keeps them) and stops the timer and
    /// the poll.
    func closeWorkerWatches() {
        for watch in workerWatching.watches where !watch.outlivesStore { watch.finish() }
        workerWatching.watches.removeAll()
        stopWorkerWatching()
    }

    private func stopWorkerWatching() {
        workerWatching.timer?.cancel()
        workerWatching.poller?.cancel()
        workerWatching = WorkerWatching(timerNumber: workerWatching.timerNumber)
    }

    /// Hands `inventory` to every watch when it is newer than the last one published, forgetting finished watches.
    func publishWorkers(_ inventory: WorkerInventory) {
        guard !workerWatching.watches.isEmpty else { return }
        if let latest = workerWatching.latest, latest.version >= inventory.version { return }
        workerWatching.latest = inventory
        workerWatching.watches.removeAll { !$0.push(inventory) }
        if workerWatching.watches.isEmpty { stopWorkerWatching() }
    }

    /// In memory, after a change of the registry (or when an eviction may be due): evicts the expired workers,
    /// publishes the inventory, and sets the timer to the next deadline. Nothing while nobody watches.
    func workersChanged() {
        guard !workerWatching.watches.isEmpty, reads.storage.coordination == nil, !closing else { return }
        let now = configuration.clock.now()
        workers.evictExpired(now: now)
        publishWorkers(workers.inventory(now: now))
        scheduleWorkerExpiry()
    }

    /// Sets the timer to the earliest deadline of the registered workers, unless one that wakes no later runs
    /// (it sets the next one when it wakes). Heartbeats move deadlines later: a timer that wakes too early finds
    /// nothing expired and sleeps again until the new deadline, once per heartbeat interval at most.
    private func scheduleWorkerExpiry() {
        guard !workerWatching.watches.isEmpty, let deadline = workers.nextExpiry else {
            workerWatching.timer?.cancel()
            workerWatching.timer = nil
            workerWatching.timerDeadline = nil
            return
        }
        if workerWatching.timer != nil, let current = workerWatching.timerDeadline, current <= deadline { return }
        workerWatching.timer?.cancel()
        workerWatching.timerNumber += 1
        let number = workerWatching.timerNumber
        workerWatching.timerDeadline = deadline
        let clock = configuration.clock
        workerWatching.timer = Task { [weak self] in
            let now = clock.now()
            if deadline > now {
                do { try await clock.sleep(deadline - now) } catch { return }
            }
            await self?.workerExpiryDue(number)
        }
    }

    private func workerExpiryDue(_ number: UInt64) {
        guard workerWatching.timerNumber == number else { return }
        workerWatching.timer = nil
        workerWatching.timerDeadline = nil
        workersChanged()
    }

    // MARK: - Shared presence

    /// Starts the poll of the shared inventory, unless it runs.
    private func startWorkerPolling() {
        guard reads.storage.coordination != nil, workerWatching.poller == nil, !workerWatching.watches.isEmpty
        else { return }
        let interval = Self.pollNanoseconds(configuration.followPollInterval)
        let clock = configuration.clock
        workerWatching.poller = Task { [weak self] in
            while !Task.isCancelled {
                do { try await clock.sleep(interval) } catch { return }
                guard let store = self, await store.pollSharedWorkers() else { return }
            }
        }
    }

    /// One poll; false when nobody watches any more (the poll ends).
    private func pollSharedWorkers() async -> Bool {
        guard !workerWatching.watches.isEmpty, !closing else { return false }
        await refreshSharedWorkers()
        return true
    }

    /// Reads the shared inventory and publishes it when it is newer. Failures are logged (at Warn once per
    /// outage) and publish nothing: the next poll tries again.
    func refreshSharedWorkers() async {
        guard let shared = reads.storage.coordination, !workerWatching.watches.isEmpty else { return }
        do {
            let inventory = try await shared.workerInventory(now: configuration.clock.now())
            if workerWatching.pollFailing {
                workerWatching.pollFailing = false
                configuration.logger.info("shared worker inventory reachable again", metadata: ["store_id": "\(id)"])
            }
            publishWorkers(inventory)
        } catch {
            guard !workerWatching.pollFailing, !workerWatching.watches.isEmpty else { return }
            workerWatching.pollFailing = true
            configuration.logger.warning(
                "cannot read the shared worker inventory for its watchers; retrying",
                metadata: ["store_id": "\(id)", "error": "\(error)"])
        }
    }

    /// Nanoseconds of a duration (0 for negative ones, at least 1 ms).
    private static func pollNanoseconds(_ duration: Duration) -> UInt64 {
        UInt64(max(duration.nanoseconds, 1_000_000))
    }
}
