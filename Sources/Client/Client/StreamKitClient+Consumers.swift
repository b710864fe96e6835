public import StreamKitEngine
import Synchronization

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

// MARK: - Durable consumers

extension StreamKitClient {
    /// Creates a durable consumer of one or several spaces (read merged in commit order), or returns the existing one
    /// of that name when it reads the same spaces.
    ///
    /// The store keeps the consumer's position with its log; ``withConsumer(store:name:acknowledgement:ttl:holder:_:)``
    /// reads from it. See `docs/client.md`, "Durable consumers".
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - name: The consumer's name (1–240 UTF-8 bytes).
    ///   - spaces: The spaces it reads (at least one, at most 64).
    ///   - startAtHead: Start after the entries there now (`streamkit consumers --from-now`); by default it starts at
    ///     the beginning.
    /// - Returns: The consumer and its lag.
    /// - Throws: `invalidArgument` (bad names; a consumer of that name reading something else), `limitExceeded`
    ///   (1,024 consumers per store), `unsupported` (a server or storage without consumers), `storeClosing`.
    @discardableResult
    public func createConsumer(
        store: UUID, name: String, spaces: [String], startAtHead: Bool = false
    ) async throws
        -> ConsumerStatus
    {
        try await createConsumer(store: store, name: name, target: .spaces(spaces), startAtHead: startAtHead)
    }

    /// Creates a durable consumer of one segment (read in sequence order), or returns the existing one of that name
    /// when it reads the same segment.
    /// - Parameters:
    ///   - store: The store.
    ///   - name: The consumer's name (1–240 UTF-8 bytes).
    ///   - space: The segment's space.
    ///   - segment: The segment.
    ///   - startAtHead: Start after the entries there now.
    /// - Returns: The consumer and its lag.
    /// - Throws: As ``createConsumer(store:name:spaces:startAtHead:)``.
    @discardableResult
    public func createConsumer(
        store: UUID, name: String, space: String, segment: String, startAtHead: Bool = false
    )
        async throws -> ConsumerStatus
    {
        try await createConsumer(
            store: store, name: name, target: .segment(space: space, segment: segment), startAtHead: startAtHead)
    }

    private func createConsumer(
        store: UUID, name: String, target: ConsumerTarget, startAtHead: Bool
    ) async throws
        -> ConsumerStatus
    {
        try await observer.run("createConsumer", .init(store: store)) {
            try check(store: store, names: [("consumer", name)] + target.spaces.map { ("space", $0) })
            return try await transport.createConsumer(
                store: store, name: name, target: target, startAtHead: startAtHead)
        }
    }

    /// Every durable consumer of the store with its lag (entries and time behind the head), sorted by name.
    /// - Parameter store: The store.
    /// - Returns: The consumers; empty for a store without any (or that does not exist).
    /// - Throws: `unsupported` (a server without consumers), `storeClosing`.
    public func consumers(store: UUID) async throws -> [ConsumerStatus] {
        try await observer.run("consumers", .init(store: store)) {
            try check(store: store, names: [])
            return try await transport.consumerStatuses(store: store, name: nil)
        }
    }

    /// One durable consumer with its lag, or nil when there is none of that name.
    /// - Parameters:
    ///   - store: The store.
    ///   - name: The consumer's name.
    /// - Throws: `unsupported` (a server without consumers), `storeClosing`.
    public func consumer(store: UUID, name: String) async throws -> ConsumerStatus? {
        try await observer.run("consumers", .init(store: store)) {
            try check(store: store, names: [("consumer", name)])
            return try await transport.consumerStatuses(store: store, name: name).first
        }
    }

    /// Deletes a durable consumer (its position). A reader holding it keeps reading until its next acknowledgement,
    /// which fails with `notFound`.
    /// - Parameters:
    ///   - store: The store.
    ///   - name: The consumer's name.
    /// - Returns: Whether it existed.
    @discardableResult
    public func deleteConsumer(store: UUID, name: String) async throws -> Bool {
        try await observer.run("deleteConsumer", .init(store: store)) {
            try check(store: store, names: [("consumer", name)])
            return try await transport.deleteConsumer(store: store, name: name)
        }
    }

    /// Acknowledges a consumer's entries through `position` (``ConsumerReader`` does this for its reads).
    func acknowledge(
        store: UUID, consumer: String, position: ConsumerPosition, fencingToken: UInt64, durable: Bool
    )
        async throws
    {
        try await observer.run("acknowledge", .init(store: store)) {
            try check(store: store, names: [])
            try await transport.acknowledge(
                store: store, consumer: consumer, position: position, fencingToken: fencingToken, durable: durable)
        }
    }

    /// Reads as a durable consumer: holds the consumer exclusively (its lease, `consumer:<name>`) while `body` runs,
    /// gives `body` a ``ConsumerReader`` that reads from where the consumer stopped, and acknowledges what `body`
    /// processed.
    ///
    /// Delivery is at-least-once: after a crash, at most the entries processed since the last recorded
    /// acknowledgement are delivered again. With ``ConsumerAcknowledgement/automatic`` an entry counts as processed
    /// once `body` asks for the next one (or the read ends); positions are sent per batch without waiting for the
    /// store to record them (it records them within its flush interval, 1 s by default), and recorded before this
    /// method returns. With ``ConsumerAcknowledgement/manual`` only ``ConsumerReader/acknowledge(through:)`` moves
    /// the position.
    ///
    /// Exclusive: while one reader holds the consumer, another gets `leaseNotHeld` at once (retry it later, or run
    /// it as a standby that calls again). When the holder dies, its lease expires after `ttl` and the next reader
    /// takes over; acknowledgements the old holder sends after that are refused (fencing), and `body` is cancelled
    /// as soon as the lease is lost (``withLease(store:key:ttl:holder:_:)``).
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - name: The consumer (create it first with ``createConsumer(store:name:spaces:startAtHead:)``).
    ///   - acknowledgement: Automatic per batch (the default) or manual.
    ///   - ttl: The lease's time to live: how long a dead holder blocks takeover (renewed every `ttl / 2`).
    ///   - holder: Who holds it; a random UUID by default.
    ///   - body: The work, given the reader.
    /// - Returns: What `body` returns.
    /// - Throws: `notFound` (no such consumer), `leaseNotHeld` (another reader holds it, or the lease was lost),
    ///   what `body` throws.
    public func withConsumer<T: Sendable>(
        store: UUID, name: String, acknowledgement: ConsumerAcknowledgement = .automatic, ttl: Duration = .seconds(30),
        holder: String = UUID().uuidString, _ body: @escaping @Sendable (ConsumerReader) async throws -> T
    ) async throws -> T {
        try check(store: store, names: [("consumer", name)])
        let acquired = Mutex(false)
        do {
            return try await withLease(store: store, key: Consumer.leaseKey(name), ttl: ttl, holder: holder) { lease in
                acquired.withLock { $0 = true }
                guard let status = try await self.consumer(store: store, name: name) else {
                    throw StreamKitError.consumerNotFound(name)
                }
                let reader = ConsumerReader(
                    client: self, store: store, consumer: status.consumer, fencingToken: lease.fencingToken,
                    acknowledgement: acknowledgement)
                // The token first: a reader the lease took over from can no longer move the position.
                try await reader.claim()
                let result: T
                do {
                    result = try await body(reader)
                } catch {
                    try? await reader.acknowledgeProcessed()
                    throw error
                }
                try await reader.acknowledgeProcessed()
                return result
            }
        } catch let error as StreamKitError where error.code == .leaseNotHeld && !acquired.withLock({ $0 }) {
            throw StreamKitError.consumerBusy(name, storeID: store)
        }
    }
}
