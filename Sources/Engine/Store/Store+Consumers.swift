import Metrics

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Durable named consumers: cursors kept with the store's log (``Consumer``). Their positions are recorded by the
/// storage (``StoreStorage/recordConsumers(_:)``): a file store's `consumers` file, a PostgreSQL store's
/// `streamkit_consumers` rows, shared by every node. See `docs/semantics.md`, "Durable consumers".
extension Store {
    /// Most spaces one consumer reads.
    public static let maxConsumerSpaces = 64

    /// Creates a durable consumer, or returns the existing one of that name when it reads the same thing.
    /// - Parameters:
    ///   - name: The consumer's name (1–240 UTF-8 bytes).
    ///   - target: What it reads (spaces are read merged in commit order; a segment in sequence order).
    ///   - startAtHead: Start after the entries there now, instead of at the beginning.
    /// - Returns: The consumer as recorded.
    /// - Throws: `invalidArgument` (bad names, no space, or a consumer of that name reading something else),
    ///   `limitExceeded` (``ConsumerTable/maxConsumers``), `storeClosing`, `unsupported` (a storage without
    ///   consumers), storage errors.
    public func createConsumer(name: String, target: ConsumerTarget, startAtHead: Bool = false) async throws -> Consumer
    {
        guard !closing else { throw StreamKitError.storeClosing }
        try Self.checkConsumerName(name)
        let target = try normalized(target)
        let now = configuration.log.clock()
        let position = startAtHead ? try await head(of: target) : .start
        let created = Consumer(name: name, target: target, position: position, createdAt: now, updatedAt: now)
        let outcome = try await reads.storage.recordConsumers([.create(created)])
        return try outcome.first?.get() ?? created
    }

    /// The consumer named `name` (with acknowledgements not yet recorded), or nil.
    public nonisolated func consumer(named name: String) async throws -> Consumer? {
        try await consumers().first { $0.name == name }
    }

    /// Every consumer of the store, sorted by name, with acknowledgements not yet recorded merged in.
    public nonisolated func consumers() async throws -> [Consumer] {
        var consumers = try await reads.storage.consumers()
        let unrecorded = await consumerBook.unrecorded()
        guard !unrecorded.isEmpty else { return consumers }
        for index in consumers.indices {
            if let position = unrecorded[consumers[index].name] { consumers[index].position.merge(position) }
        }
        return consumers
    }

    /// Acknowledges a consumer's entries through `position` (merged: positions never move backward).
    /// - Parameters:
    ///   - name: The consumer.
    ///   - position: What it has processed (``ConsumerPosition/advanced(through:)``).
    ///   - fencingToken: The reader's lease token (``Consumer/leaseKey``); 0 without a lease.
    ///   - durable: Return once the position is recorded (acknowledgements arriving together share one write);
    ///     false: record it within ``StoreConfiguration/consumerFlushInterval`` (a crash may deliver those entries
    ///     again).
    /// - Throws: `notFound` (no such consumer), `leaseNotHeld` (a reader with a higher token acknowledged: this
    ///   one was taken over), `storeClosing`, storage errors. A deferred acknowledgement's refusal is thrown by the
    ///   consumer's next acknowledgement with the same token.
    public nonisolated func acknowledge(
        consumer name: String, through position: ConsumerPosition, fencingToken: UInt64 = 0, durable: Bool = true
    ) async throws {
        let lagDue = try await consumerBook.acknowledge(
            name, position: position, fencingToken: fencingToken, time: configuration.log.clock(), durable: durable)
        if lagDue, let consumer = try? await consumer(named: name) {
            _ = try? await reportLag(of: consumer)
        }
    }

    /// Computes `consumer`'s lag and records it in the metrics `streamkit_consumer_lag_entries` and
    /// `streamkit_consumer_lag_seconds` (labels `store`, `consumer`).
    @discardableResult
    func reportLag(of consumer: Consumer) async throws -> ConsumerLag {
        let lag = try await lag(of: consumer)
        let dimensions = [("store", id.uuidString.lowercased()), ("consumer", consumer.name)]
        let metrics = configuration.metricsFactory ?? MetricsSystem.factory
        Gauge(label: "streamkit_consumer_lag_entries", dimensions: dimensions, factory: metrics).record(lag.entries)
        Gauge(label: "streamkit_consumer_lag_seconds", dimensions: dimensions, factory: metrics)
            .record(Double(lag.nanoseconds) / 1e9)
        return lag
    }

    /// Deletes a consumer (its position; a reader holding its lease keeps the lease until it ends).
    /// - Returns: Whether it existed.
    public func deleteConsumer(named name: String) async throws -> Bool {
        guard !closing else { throw StreamKitError.storeClosing }
        await consumerBook.forget(name)
        let existed = try await reads.storage.consumers().contains { $0.name == name }
        _ = try await reads.storage.recordConsumers([.delete(name: name)])
        return existed
    }

    /// The consumer named `name` (nil: every consumer, sorted by name) with its lag; empty when there is none.
    public func consumerStatuses(named name: String? = nil) async throws -> [ConsumerStatus] {
        var statuses: [ConsumerStatus] = []
        for consumer in try await consumers() where name == nil || consumer.name == name {
            statuses.append(ConsumerStatus(consumer: consumer, lag: try await reportLag(of: consumer)))
        }
        return statuses
    }

    /// How far `consumer` is behind the head of what it reads. Entries deleted but not yet erased by compaction
    /// may be counted in the block holding its position.
    public func lag(of consumer: Consumer) async throws -> ConsumerLag {
        switch consumer.target {
        case .segment(let space, let segment):
            guard let slot = segments[SegmentKey(space: space, segment: segment)], let visible = slot.visible else {
                return ConsumerLag(entries: 0, nanoseconds: 0)
            }
            let count = await slot.actor.entryCount(afterSequence: consumer.position.sequence)
            guard count > 0 else { return ConsumerLag(entries: 0, nanoseconds: 0) }
            let from = consumer.position.offsets[space]?.timestamp ?? visible.firstTimestamp
            return ConsumerLag(entries: count, nanoseconds: max(0, visible.lastTimestamp - from))
        case .spaces(let spaces):
            var count = 0
            var newest = Int64.min
            var oldest = Int64.max
            for space in spaces {
                let position = consumer.position.offset(of: space).position
                var (exactAfter, blocksAfter) = (position, position)
                let storage = reads.storage
                if position > 0, let index = storage.blockIndex(containing: position),
                    let block = storage.block(at: index),
                    block.firstPosition <= position
                {
                    // The block holding the position mixes entries before and after it: count those after.
                    var after: [Entry] = []
                    let reads = self.reads
                    try await reads.loading {
                        after.removeAll()
                        _ = try reads.scan(
                            from: position + 1, through: block.lastPosition, maxCount: .max, into: &after
                        ) {
                            $0.space == space
                        }
                    }
                    count += after.count
                    (exactAfter, blocksAfter) = (block.lastPosition, block.firstPosition)
                }
                for name in spaceSegments[space] ?? [] {
                    guard let slot = segments[SegmentKey(space: space, segment: name)], let visible = slot.visible
                    else { continue }
                    count += await slot.actor.entryCount(afterPosition: exactAfter, blocksAfter: blocksAfter)
                    newest = max(newest, visible.lastTimestamp)
                    oldest = min(oldest, visible.firstTimestamp)
                }
            }
            guard count > 0 else { return ConsumerLag(entries: 0, nanoseconds: 0) }
            let acknowledged = consumer.position.newest.timestamp
            return ConsumerLag(entries: count, nanoseconds: max(0, newest - (acknowledged > 0 ? acknowledged : oldest)))
        }
    }

    // MARK: - Helpers

    /// The position after every entry `target` has now.
    private func head(of target: ConsumerTarget) async throws -> ConsumerPosition {
        switch target {
        case .segment(let space, let segment):
            guard let last = try await peek(space: space, segment: segment) else { return .start }
            return ConsumerPosition(offsets: [space: last.offset], sequence: last.sequence)
        case .spaces(let spaces):
            var offsets: [String: Offset] = [:]
            for space in spaces {
                for name in (spaceSegments[space] ?? []).sorted() {
                    if let last = try await peek(space: space, segment: name), last.offset > offsets[space] ?? .start {
                        offsets[space] = last.offset
                    }
                }
            }
            return ConsumerPosition(offsets: offsets)
        }
    }

    private func normalized(_ target: ConsumerTarget) throws -> ConsumerTarget {
        switch target {
        case .segment(let space, let segment):
            _ = try validate(space: space, segment: segment)
            return target
        case .spaces(let spaces):
            let unique = Array(Set(spaces)).sorted()
            guard !unique.isEmpty else { throw StreamKitError.invalidArgument("a consumer reads at least one space") }
            guard unique.count <= Self.maxConsumerSpaces else {
                throw StreamKitError.invalidArgument(
                    "a consumer reads at most \(Self.maxConsumerSpaces) spaces", limit: Self.maxConsumerSpaces,
                    value: unique.count)
            }
            for space in unique { _ = try validate(space: space, segment: "-") }
            return .spaces(unique)
        }
    }

    static func checkConsumerName(_ name: String) throws {
        let bytes = name.utf8.count
        guard bytes > 0, bytes <= Consumer.maxNameBytes else {
            throw StreamKitError.invalidArgument(
                "a consumer name is 1–\(Consumer.maxNameBytes) UTF-8 bytes, not \(bytes)", limit: Consumer.maxNameBytes,
                value: bytes)
        }
    }
}
