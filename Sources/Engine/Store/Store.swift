import Logging
import StreamKitLogFiles

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// One store: an isolated log of spaces, segments and entries, with its index, subscriptions, leases and
/// worker presence.
///
/// Writes go through the store actor once per transaction (never per record); reads stream through
/// ``SegmentEntries`` and ``SpaceEntries``, which fetch batches of entries from the decoded tail and the
/// block cache without holding the actor. See `docs/semantics.md` for ordering, durability and delivery.
public actor Store {
    /// The store's identity.
    public nonisolated let id: UUID
    /// The store's settings.
    public nonisolated let configuration: StoreConfiguration
    nonisolated let reads: StoreReadContext
    /// Consumer acknowledgements on their way to the storage (``ConsumerBook``).
    nonisolated let consumerBook: ConsumerBook

    /// Every known segment: its actor and, once it has a visible entry, its visible head (one dictionary
    /// entry per segment keeps the per-segment index memory down).
    var segments: [SegmentKey: SegmentSlot] = [:]
    var spaceSegments: [String: Set<String>] = [:]
    /// Transactions committed by the storage but waiting for an earlier position to become visible.
    private var pending: [UInt64: PendingCommit] = [:]
    private var visibleThrough: UInt64
    private var subscriptions: [String: [SubscriptionState]] = [:]
    var closing = false
    var closed = false
    var inFlight = 0
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []
    /// Timestamp of the newest visible entry (the floor for lease fencing tokens).
    private(set) var lastTimestamp: Int64
    /// The background scrub (``ScrubConfiguration``), cancelled and awaited by ``close()`` before the log closes.
    private var scrubber: Task<Void, Never>?
    /// The background retention task (``RetentionConfiguration``), if enabled.
    private var retaining: Task<Void, Never>?
    /// The follow loop of a store whose log other processes write too (``StoreStorage/follower``), cancelled and
    /// awaited by ``close()`` before the log closes.
    private var following: Task<Void, Never>?
    var leases = LeaseTable()
    var workers = WorkerRegistry()
    /// The watches of the worker inventory, with their timer or poll (``watchWorkers()``).
    var workerWatching = WorkerWatching()
    /// Callers waiting for a segment's visible head to reach a sequence (``catchUp(_:through:)``), by segment.
    var visibleWaiters: [SegmentKey: [VisibleWaiter]] = [:]
    var nextWaiterID: UInt64 = 0
    /// When background compaction last finished deletions (which scrubs the WAL; ``retentionPass(_:)``).
    var lastFinishedDeletions: ContinuousClock.Instant?

    struct PendingCommit {
        var key: SegmentKey
        var records: [Record]
        var committed: CommittedTransaction
        var transactionID: UUID
        var transactionNumber: UInt64
    }

    // MARK: - Opening

    /// Opens (creating if needed) a store kept in files under `directory`, recovering its log first.
    /// - Parameters:
    ///   - id: The store's identity.
    ///   - directory: The store directory (holds `log/`, `wal/`, `LOCK`).
    ///   - configuration: Store settings.
    /// - Throws: `StreamKitError` — `.storage` (e.g. another process holds the store), `.corrupt`.
    public static func open(
        id: UUID, directory: String, configuration: StoreConfiguration = .init()
    ) async throws -> Store {
        let (storage, contents): (FileStorage, StoredLog)
        do {
            var log = configuration.log
            log.metricsFactory = configuration.metricsFactory
            (storage, contents) = try FileStorage.open(directory: directory, configuration: log)
        } catch {
            throw StreamKitError.storage(error, storeID: id)
        }
        return Store(id: id, storage: storage, contents: contents, configuration: configuration)
    }

    /// Creates an empty store kept in memory only (tests, ephemeral data).
    public static func inMemory(id: UUID = UUID(), configuration: StoreConfiguration = .init()) -> Store {
        let storage = MemoryStorage(clock: configuration.log.clock)
        return Store(id: id, storage: storage, contents: .empty, configuration: configuration)
    }

    /// Creates a store over any storage, building the index from what the storage holds.
    /// - Parameters:
    ///   - id: The store's identity.
    ///   - storage: The log.
    ///   - recovery: What `storage` held when it was opened (its sealed blocks' segment runs and unsealed tail).
    ///   - configuration: Store settings.
    public init(id: UUID, storage: any StoreStorage, contents recovery: StoredLog, configuration: StoreConfiguration) {
        self.id = id
        self.configuration = configuration
        let tailStart = recovery.tail.first?.position ?? recovery.nextPosition
        reads = StoreReadContext(
            storage: storage, tailStart: tailStart, visibleThrough: recovery.nextPosition - 1,
            cacheBytes: configuration.blockCacheBytes,
            damage: DamageLog(storeID: id, logger: configuration.logger, metrics: configuration.metricsFactory),
            logStart: recovery.logStart, deletions: recovery.deletions,
            metrics: StoreMetrics(factory: configuration.metricsFactory))
        visibleThrough = recovery.nextPosition - 1
        lastTimestamp = recovery.lastTimestamp
        consumerBook = ConsumerBook(
            storage: storage, clock: configuration.clock, interval: configuration.consumerFlushInterval)
        let readContext = reads
        var rebuilt = IndexRebuilder()
        for block in recovery.blocks {
            reads.directory.add(block)
            rebuilt.add(block)
        }
        rebuilt.add(recovery.tail)
        reads.tail.append(recovered: recovery.tail)
        for (key, state) in rebuilt.segments {
            var state = state
            var visible: VisibleHead? = VisibleHead(state.head)
            if let deletion = readContext.deleted.deletion(of: key) {
                // Deleted entries still in the log: the index and the visible head start after them.
                state.index = Segment.index(state.index, droppingBefore: deletion.before)
                if let run = state.index.first {
                    visible?.firstSequence = run.firstSequence
                    if let timestamp = Self.firstTimestamp(of: key, in: run, reads: readContext) {
                        visible?.firstTimestamp = timestamp
                    }
                } else {
                    visible = nil
                }
            }
            segments[key] = SegmentSlot(
                actor: Segment(key: key, head: state.head, index: state.index), visible: visible)
            if visible != nil { spaceSegments[key.space, default: []].insert(key.segment) }
        }
        // A segment whose entries were all dropped keeps its write side (the next sequence follows its last one)
        // and is invisible to readers until it has entries again.
        for retired in recovery.retired {
            let key = SegmentKey(space: retired.space, segment: retired.segment)
            guard segments[key] == nil else { continue }
            let head = Segment.Head(
                lastSequence: retired.lastSequence, lastTimestamp: retired.lastTimestamp,
                lastTransactionNumber: retired.lastTransactionNumber)
            segments[key] = SegmentSlot(actor: Segment(key: key, head: head), visible: nil)
        }
        let segmentCount = rebuilt.segments.count
        if configuration.scrub.isEnabled && storage.verifiesBlocks {
            let (reads, scrub, logger) = (reads, configuration.scrub, configuration.logger)
            scrubber = Task.detached(priority: .background) {
                await StoreScrubber.run(reads: reads, configuration: scrub, logger: logger)
            }
        }
        // The follow loop gets the store (weakly) once it is initialised: a task cannot capture `self` before.
        let (started, handOver) = AsyncStream.makeStream(of: WeakStore.self)
        if let follower = storage.follower {
            following = Task.detached {
                await Self.follow(started, follower: follower, configuration: configuration)
            }
        }
        let (retentionStarted, retentionHandOver) = AsyncStream.makeStream(of: WeakStore.self)
        if configuration.retention.runsInBackground {
            let retention = configuration.retention
            retaining = Task.detached(priority: .background) {
                await Self.retain(retentionStarted, configuration: retention)
            }
        }
        configuration.logger.info(
            "store opened",
            metadata: ["store_id": "\(id)", "segments": "\(segmentCount)", "blocks": "\(recovery.blocks.count)"])
        handOver.yield(WeakStore(store: self))
        handOver.finish()
        retentionHandOver.yield(WeakStore(store: self))
        retentionHandOver.finish()
    }

    // MARK: - Writing

    /// Commits one validated transaction of one segment and returns its status once it is visible.
    func commit(_ key: SegmentKey, _ records: [Record]) async throws -> SegmentStatus {
        guard !closing else { throw storeClosing }
        let segment = segment(for: key)
        inFlight += 1
        defer { finishedCall() }
        let committed: CommittedTransaction
        let id: UUID
        let number: UInt64
        let start = ContinuousClock.now
        do {
            (committed, id, number) = try await segment.commit(records, storage: reads.storage)
        } catch let conflict as StreamKitError where conflict.code == .sequenceConflict {
            // Another writer's commit moved the segment: let this node see it before answering, so that a caller
            // who reads the segment again to decide what to produce finds the sequence the conflict names.
            // (Not when this node knows the head already: a segment whose entries were all deleted never becomes
            // visible again before its next produce.)
            if let expected = conflict.expectedSequence, expected > 1, await segment.head.lastSequence < expected - 1 {
                await catchUp(key, through: expected - 1)
            }
            throw conflict
        }
        reads.metrics.committed(records, nanoseconds: (ContinuousClock.now - start).nanoseconds)
        return accept(
            PendingCommit(
                key: key, records: records, committed: committed, transactionID: id, transactionNumber: number))
    }

    /// Appends one record at the segment's next sequence.
    @discardableResult
    public func publish(
        space: String, segment: String, payload: [UInt8], metadata: [String: String] = [:]
    ) async throws
        -> SegmentStatus
    {
        let key = try validate(space: space, segment: segment)
        try validate(Record(sequence: 1, payload: payload, metadata: metadata))
        guard !closing else { throw storeClosing }
        let handle = self.segment(for: key)
        inFlight += 1
        defer { finishedCall() }
        let start = ContinuousClock.now
        let (committed, id, number, record) = try await handle.publish(
            payload: payload, metadata: metadata, attempts: configuration.publishAttempts, storage: reads.storage)
        reads.metrics.committed([record], nanoseconds: (ContinuousClock.now - start).nanoseconds)
        return accept(
            PendingCommit(
                key: key, records: [record], committed: committed, transactionID: id, transactionNumber: number))
    }

    var storeClosing: StreamKitError {
        var error = StreamKitError.storeClosing
        error.storeID = id
        return error
    }

    func finishedCall() {
        inFlight -= 1
        if inFlight == 0 && !idleWaiters.isEmpty {
            for waiter in idleWaiters { waiter.resume() }
            idleWaiters.removeAll()
        }
    }

    private func segment(for key: SegmentKey) -> Segment {
        if let existing = segments[key]?.actor { return existing }
        let created = Segment(key: key)
        segments[key] = SegmentSlot(actor: created, visible: nil)
        return created
    }

    /// Records a committed transaction and makes it (and any that waited for it) visible in position order.
    private func accept(_ commit: PendingCommit) -> SegmentStatus {
        let status = SegmentStatus(
            space: commit.key.space, segment: commit.key.segment, firstSequence: commit.records[0].sequence,
            firstTimestamp: commit.committed.firstTimestamp,
            lastSequence: commit.records[commit.records.count - 1].sequence,
            lastTimestamp: commit.committed.lastTimestamp)
        // Over a shared log the follower may have made it visible already.
        if commit.committed.firstPosition > visibleThrough { pending[commit.committed.firstPosition] = commit }
        drainPending()
        return status
    }

    /// Makes pending commits visible in position order, up to the first gap; a gap over a shared log is another
    /// writer's commit, which the follow loop is woken to fetch.
    func drainPending() {
        while let next = pending.removeValue(forKey: visibleThrough + 1) { makeVisible(next) }
        reads.publishVisible(visibleThrough)
        absorbSealedBlocks()
        if !pending.isEmpty { reads.storage.follower?.wake() }
    }

    /// Adds transactions other writers committed (the follow loop) to the commits waiting to become visible.
    /// Their segments have observed them already.
    func applyFollowed(_ transactions: [FollowedTransaction]) {
        guard !closed else { return }
        for transaction in transactions where transaction.committed.firstPosition > visibleThrough {
            let key = SegmentKey(space: transaction.space, segment: transaction.segment)
            pending[transaction.committed.firstPosition] = PendingCommit(
                key: key, records: transaction.records, committed: transaction.committed,
                transactionID: transaction.transactionID, transactionNumber: transaction.transactionNumber)
        }
        drainPending()
    }

    /// The segment actors of `keys`, created when new (the follow loop records other writers' commits in them).
    func segmentsForFollowing(_ keys: Set<SegmentKey>) -> [SegmentKey: Segment] {
        var out: [SegmentKey: Segment] = [:]
        for key in keys { out[key] = segment(for: key) }
        return out
    }

    private func makeVisible(_ commit: PendingCommit) {
        let key = commit.key
        let last = commit.records.count - 1
        reads.tail.append(
            TailBuffer.Chunk(
                space: key.space, segment: key.segment, firstPosition: commit.committed.firstPosition,
                firstTimestamp: commit.committed.firstTimestamp, transactionID: commit.transactionID,
                transactionNumber: commit.transactionNumber, records: commit.records,
                cost: TailBuffer.cost(records: commit.records)))
        visibleThrough = commit.committed.lastPosition
        lastTimestamp = commit.committed.lastTimestamp
        var head: VisibleHead
        if let known = segments[key]?.visible {
            head = known
            head.lastSequence = commit.records[last].sequence
            head.lastTimestamp = commit.committed.lastTimestamp
        } else {
            head = VisibleHead(
                firstSequence: commit.records[0].sequence, firstTimestamp: commit.committed.firstTimestamp,
                lastSequence: commit.records[last].sequence, lastTimestamp: commit.committed.lastTimestamp)
            spaceSegments[key.space, default: []].insert(key.segment)
        }
        segments[key]?.visible = head
        if !visibleWaiters.isEmpty { resumeWaiters(key, through: head.lastSequence) }
        notify(head.status(key))
    }

    /// Hands `status` to the subscriptions of its segment, forgetting finished ones.
    func notify(_ status: SegmentStatus) {
        guard let subscribers = subscriptions[status.space] else { return }
        var live = false
        for subscriber in subscribers where subscriber.matches(status.segment) {
            if subscriber.push(status) { live = true }
        }
        if !live || subscribers.contains(where: { $0.isFinished }) {
            subscriptions[status.space] = subscribers.filter { !$0.isFinished }
            if subscriptions[status.space]?.isEmpty == true { subscriptions[status.space] = nil }
        }
    }

    /// Registers newly sealed blocks for space reads and lets the tail shrink to its budget.
    private func absorbSealedBlocks() {
        let sealed = reads.storage.takeSealedBlocks()
        guard !sealed.isEmpty else { return }
        for block in sealed { reads.directory.add(block) }
        reads.tail.trim(toBudget: configuration.tailBytes, sealedThrough: reads.directory.lastPosition)
    }

    // MARK: - Validation

    nonisolated func validate(space: String, segment: String) throws -> SegmentKey {
        for (kind, name) in [("space", space), ("segment", segment)] {
            if name.isEmpty { throw StreamKitError.invalidArgument("\(kind) name is empty") }
            let bytes = name.utf8.count
            if bytes > configuration.maxNameBytes {
                throw StreamKitError.invalidArgument(
                    "\(kind) name is \(bytes) bytes, over the limit of \(configuration.maxNameBytes)",
                    limit: configuration.maxNameBytes, value: bytes)
            }
        }
        if segment == "*" { throw StreamKitError.invalidArgument("\"*\" names every segment; it cannot be written") }
        return SegmentKey(space: space, segment: segment)
    }

    nonisolated func validate(_ record: Record) throws {
        if record.payload.count > configuration.maxPayloadBytes {
            throw StreamKitError.limitExceeded(
                "payload is \(record.payload.count) bytes, over the limit of \(configuration.maxPayloadBytes)",
                limit: configuration.maxPayloadBytes, value: record.payload.count)
        }
        if record.metadata.count > configuration.maxMetadataPairs {
            throw StreamKitError.limitExceeded(
                "\(record.metadata.count) metadata pairs, over the limit of \(configuration.maxMetadataPairs)",
                limit: configuration.maxMetadataPairs, value: record.metadata.count)
        }
        if !record.metadata.isEmpty {
            var bytes = 0
            for (key, value) in record.metadata { bytes += key.utf8.count + value.utf8.count }
            if bytes > configuration.maxMetadataBytes {
                throw StreamKitError.limitExceeded(
                    "metadata is \(bytes) bytes, over the limit of \(configuration.maxMetadataBytes)",
                    limit: configuration.maxMetadataBytes, value: bytes)
            }
        }
    }

    // MARK: - Inventory

    /// Every space with at least one visible entry, sorted.
    public func spaces() -> [String] { spaceSegments.keys.sorted() }

    /// Every segment of `space` with at least one visible entry, sorted.
    public func segments(space: String) -> [String] { spaceSegments[space].map { $0.sorted() } ?? [] }

    /// The last visible sequence of `key`; nil before its first entry is visible.
    func segmentVisibleLastSequence(_ key: SegmentKey) -> UInt64? { segments[key]?.visible?.lastSequence }

    /// The visible status of a segment, or nil when it has no visible entry.
    public func status(space: String, segment: String) -> SegmentStatus? {
        let key = SegmentKey(space: space, segment: segment)
        return segments[key]?.visible?.status(key)
    }

    /// The last visible entry of a segment; nil for an empty or unknown segment (not an error).
    public func peek(space: String, segment: String) async throws -> Entry? {
        let key = SegmentKey(space: space, segment: segment)
        guard let slot = segments[key], let status = slot.visible?.status(key) else { return nil }
        let handle = slot.actor
        let runs = await handle.runs(from: status.lastSequence, maxEntries: 1)
        var found: [Entry] = []
        try await reads.loading {
            found.removeAll()
            try SegmentEntries.collect(
                runs: runs, key: key, from: status.lastSequence, through: status.lastSequence, reads: reads,
                maxCount: 1,
                into: &found)
        }
        return found.first
    }

    /// The segment actor, when the segment exists.
    func existingSegment(_ key: SegmentKey) -> Segment? { segments[key]?.actor }

    // MARK: - Subscriptions

    func register(_ subscription: SubscriptionState) {
        guard !closed else {
            if !subscription.outlivesStore { subscription.finish() }
            return
        }
        if subscription.segment == "*" {
            for name in (spaceSegments[subscription.space] ?? []).sorted() {
                if let status = status(space: subscription.space, segment: name) { _ = subscription.push(status) }
            }
        } else if let status = status(space: subscription.space, segment: subscription.segment) {
            _ = subscription.push(status)
        }
        subscriptions[subscription.space, default: []].append(subscription)
    }

    func unregister(_ subscription: SubscriptionState) {
        subscriptions[subscription.space]?.removeAll { $0 === subscription }
        if subscriptions[subscription.space]?.isEmpty == true { subscriptions[subscription.space] = nil }
    }

    // MARK: - Closing

    /// Waits for in-flight writes, closes the log, and ends every subscription (those of a ``StoreRegistry`` are
    /// only dropped: the registry keeps them). Later writes fail with `storeClosing`. Calling it again does
    /// nothing.
    public func close() async {
        guard !closing else {
            if !closed { await withCheckedContinuation { idleWaiters.append($0) } }
            return
        }
        closing = true
        resumeAllWaiters()
        retaining?.cancel()  // Before waiting: a compaction in flight stops at its next block.
        if inFlight > 0 { await withCheckedContinuation { idleWaiters.append($0) } }
        if let scrubber {
            scrubber.cancel()
            await scrubber.value
        }
        if let retaining {
            retaining.cancel()
            await retaining.value
        }
        if let following {
            following.cancel()
            await following.value
        }
        await consumerBook.close()  // Deferred acknowledgements are recorded before the log closes.
        await reads.storage.close()
        closed = true
        // A registry's subscriptions outlive the store: the registry registers them with its next open.
        for list in subscriptions.values {
            for subscription in list where !subscription.outlivesStore { subscription.finish() }
        }
        subscriptions.removeAll()
        closeWorkerWatches()
        configuration.logger.info("store closed", metadata: ["store_id": "\(id)"])
    }

    var segmentCount: Int { segments.count }
    var spaceCount: Int { spaceSegments.count }

    /// Whether ``close()`` has begun.
    public var isClosing: Bool { closing }

    /// Blocks of the log found damaged so far (by readers or the background scrub), in log order. Reads that
    /// reach one fail with `corrupt`; see ``DamagedBlock``.
    public nonisolated var damagedBlocks: [DamagedBlock] { reads.damage.all }

    /// Number of writes in progress.
    var writesInFlight: Int { inFlight }
}

// MARK: - Statistics

/// Sizes of a store's in-memory structures, for monitoring and the memory benchmark.
public struct StoreStatistics: Sendable, Hashable {
    /// Segments known (each has a segment actor with its head and sparse index).
    public var segments: Int
    /// Spaces known.
    public var spaces: Int
    /// Sealed blocks registered for space reads.
    public var blocks: Int
    /// Bytes of the block directory (which spaces each block holds).
    public var directoryBytes: Int
    /// Bytes of recent entries kept in memory (the tail).
    public var tailBytes: Int
    /// Last visible position.
    public var visibleThrough: UInt64
}

extension Store {
    /// Sizes of the store's in-memory structures.
    public func statistics() -> StoreStatistics {
        StoreStatistics(
            segments: segmentCount, spaces: spaceCount, blocks: reads.directory.count,
            directoryBytes: reads.directory.approximateBytes, tailBytes: reads.tail.byteCount,
            visibleThrough: reads.visibleThrough)
    }
}

/// A segment as the store knows it.
struct SegmentSlot {
    var actor: Segment
    /// Its head as far as readers can see; nil until its first entry is visible.
    var visible: VisibleHead?
}

/// The visible first and last sequence and timestamp of a segment (its status without the names).
struct VisibleHead {
    var firstSequence: UInt64
    var firstTimestamp: Int64
    var lastSequence: UInt64
    var lastTimestamp: Int64

    init(firstSequence: UInt64, firstTimestamp: Int64, lastSequence: UInt64, lastTimestamp: Int64) {
        self.firstSequence = firstSequence
        self.firstTimestamp = firstTimestamp
        self.lastSequence = lastSequence
        self.lastTimestamp = lastTimestamp
    }

    init(_ head: Segment.Head) {
        self.init(
            firstSequence: head.firstSequence, firstTimestamp: head.firstTimestamp, lastSequence: head.lastSequence,
            lastTimestamp: head.lastTimestamp)
    }

    func status(_ key: SegmentKey) -> SegmentStatus {
        SegmentStatus(
            space: key.space, segment: key.segment, firstSequence: firstSequence, firstTimestamp: firstTimestamp,
            lastSequence: lastSequence, lastTimestamp: lastTimestamp)
    }
}
