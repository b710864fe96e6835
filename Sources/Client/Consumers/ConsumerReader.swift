public import StreamKitEngine
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads as a durable consumer inside ``StreamKitClient/withConsumer(store:name:acknowledgement:ttl:holder:_:)``:
/// ``entries(limit:)`` continues after the last entry it delivered (at first, after the consumer's acknowledged
/// position), and acknowledgements carry the reader's fencing token.
///
/// Positions: *delivered* (handed to the application; the next read starts after it), *processed* (automatic mode:
/// the application asked for the next entry), *acknowledged* (sent to the store). Only the acknowledged position
/// survives the reader.
public final class ConsumerReader: Sendable {
    /// The consumer as it was when the reader took it.
    public let consumer: Consumer
    /// The reader's lease token; the store refuses acknowledgements with a lower one once this one acknowledged.
    public let fencingToken: UInt64
    /// How the reader acknowledges.
    public let acknowledgement: ConsumerAcknowledgement

    /// Entries processed between deferred acknowledgements in automatic mode.
    static let batchEntries = 1024

    private struct State {
        var delivered: ConsumerPosition
        var processed: ConsumerPosition
        var acknowledged: ConsumerPosition
        var sinceAcknowledged = 0
    }

    private let client: StreamKitClient
    private let store: UUID
    private let state: Mutex<State>

    init(
        client: StreamKitClient, store: UUID, consumer: Consumer, fencingToken: UInt64,
        acknowledgement: ConsumerAcknowledgement
    ) {
        self.client = client
        self.store = store
        self.consumer = consumer
        self.fencingToken = fencingToken
        self.acknowledgement = acknowledgement
        self.state = Mutex(
            State(delivered: consumer.position, processed: consumer.position, acknowledged: consumer.position))
    }

    /// The position acknowledged so far (sent to the store).
    public var acknowledgedPosition: ConsumerPosition { state.withLock { $0.acknowledged } }

    /// The entries after the last one delivered, up to the head as it is when the read starts (the sequence then
    /// ends: read again, e.g. after a subscription reports new entries, for more).
    /// - Parameter limit: Most entries (0 = no limit).
    /// - Returns: The entries; in automatic mode, iterating acknowledges them as described in
    ///   ``ConsumerAcknowledgement/automatic``. Iteration throws what the read throws, and `leaseNotHeld` when a
    ///   newer reader took the consumer over.
    public func entries(limit: Int = 0) -> ConsumerEntries {
        let from = state.withLock { $0.delivered }
        let inner: ClientStream<Entry>
        switch consumer.target {
        case .segment(let space, let segment):
            inner = client.consumeSegment(
                store: store, space: space, segment: segment, minSequence: from.sequence + 1, limit: limit)
        case .spaces(let spaces):
            inner = client.consume(
                store: store, spaces: Dictionary(uniqueKeysWithValues: spaces.map { ($0, from.offset(of: $0)) }),
                limit: limit)
        }
        return ConsumerEntries(reader: self, inner: inner)
    }

    /// Acknowledges `entry` and every entry before it, and returns once the store recorded it.
    /// - Throws: `leaseNotHeld` when a newer reader took the consumer over; `notFound` when it was deleted.
    public func acknowledge(through entry: Entry) async throws {
        let position = state.withLock { state in
            state.processed.advance(through: entry)
            return state.acknowledged.advanced(through: entry)
        }
        try await send(position, durable: true)
    }

    // MARK: - Internal

    /// Records the reader's token (with the position unchanged), so that an older reader is fenced off at once.
    func claim() async throws {
        try await send(consumer.position, durable: true)
    }

    /// An entry handed to the application.
    func delivered(_ entry: Entry) {
        state.withLock { $0.delivered.advance(through: entry) }
    }

    /// An entry the application finished (automatic mode); every ``batchEntries`` entries the position is sent
    /// without waiting for the store to record it.
    func processed(_ entry: Entry) async throws {
        guard acknowledgement == .automatic else { return }
        let due: ConsumerPosition? = state.withLock { state in
            state.processed.advance(through: entry)
            state.sinceAcknowledged += 1
            guard state.sinceAcknowledged >= Self.batchEntries else { return nil }
            return state.processed
        }
        if let due { try await send(due, durable: false) }
    }

    /// Sends what was processed and not yet acknowledged, and returns once it is recorded (automatic mode).
    func acknowledgeProcessed() async throws {
        guard acknowledgement == .automatic else { return }
        let due: ConsumerPosition? = state.withLock { $0.processed == $0.acknowledged ? nil : $0.processed }
        if let due { try await send(due, durable: true) }
    }

    private func send(_ position: ConsumerPosition, durable: Bool) async throws {
        try await client.acknowledge(
            store: store, consumer: consumer.name, position: position, fencingToken: fencingToken, durable: durable)
        state.withLock { state in
            state.acknowledged.merge(position)
            state.sinceAcknowledged = 0
        }
    }
}
