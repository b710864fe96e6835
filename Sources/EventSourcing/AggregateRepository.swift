import Logging
public import StreamKitClient

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Loads and saves event-sourced aggregates in a StreamKit store: an aggregate is a segment, its events are the
/// segment's records, its version is the segment's last sequence.
///
/// ```swift
/// let accounts = AggregateRepository<Account>(client: client, store: store, space: "accounts")
/// let (account, version) = try await accounts.load("acc-1")       // folds the events; version 0 if none
/// guard account.balance >= 30 else { throw Refused() }
/// try await accounts.save("acc-1", events: [.withdrawn(30)], expectedVersion: version)
/// ```
///
/// **Guarantees.** A save is all or nothing and happens only if the aggregate is still at `expectedVersion`: its
/// events are produced as one transaction whose first sequence is `expectedVersion + 1`, which the store commits
/// only if that follows the segment's last sequence (compare-and-append, in any process, over both transports).
/// Of concurrent saves expecting the same version, exactly one succeeds; the others get
/// ``EventSourcingError/Code/versionConflict`` with the version now. A save larger than one transaction
/// (``SaveLimits``) is refused before anything is written. ``load(_:)`` streams the events (it never holds the
/// whole history) and returns the state and version of the same events.
///
/// **Snapshots** (``SnapshotPolicy``, off by default) go to the segment of the same name in ``snapshotSpace``
/// (`"<space>.snapshots"`), one record per snapshot: the encoded aggregate, with its version in the metadata key
/// `"version"`. A save that crosses a multiple of the interval folds the aggregate up to its new version (from the
/// latest snapshot) and appends a snapshot; writing it never fails the save (a failure is logged as a warning).
/// ``load(_:)`` starts from the latest snapshot and folds only the events after it; a snapshot that does not
/// decode is ignored (logged as a warning) and the events are folded from the start.
///
/// A repository is a small value: make one per aggregate type and space, and share it.
public struct AggregateRepository<A: Aggregate>: Sendable {
    /// The space whose segments are this repository's aggregates.
    public let space: String
    /// The space holding the snapshots: `"<space>.snapshots"`.
    public var snapshotSpace: String { space + ".snapshots" }
    /// The most one save may hold.
    public let limits: SaveLimits
    let client: StreamKitClient
    let store: UUID
    let codec: any EventCodec<A.Event>
    let snapshots: SnapshotPolicy<A>?
    let logger: Logger

    /// Creates a repository whose events are encoded by `codec`.
    ///
    /// - Parameters:
    ///   - client: The client (either transport); its logger gets the repository's warnings.
    ///   - store: The store holding the aggregates.
    ///   - space: The space of the aggregates' segments (one space per aggregate type is usual).
    ///   - codec: How events are encoded.
    ///   - snapshots: When to keep snapshots, and how; nil (the default) keeps none, and ignores existing ones.
    ///   - limits: The most one save may hold: the store's transaction limits (see ``SaveLimits``).
    public init(
        client: StreamKitClient, store: UUID, space: String, codec: some EventCodec<A.Event>,
        snapshots: SnapshotPolicy<A>? = nil, limits: SaveLimits = SaveLimits()
    ) {
        self.client = client
        self.store = store
        self.space = space
        self.codec = codec
        self.snapshots = snapshots
        self.limits = limits
        self.logger = client.configuration.logger
    }

    // MARK: - Loading

    /// Loads an aggregate: its latest snapshot (if the repository keeps them) and every event after it, folded in
    /// order.
    ///
    /// The events are read as a stream, not collected first. The version is the sequence of the last event folded,
    /// so the aggregate and the version always match; pass the version to ``save(_:events:expectedVersion:)``.
    ///
    /// - Parameter id: The aggregate's id (its segment).
    /// - Returns: The aggregate, and its version: the number of events saved so far (0 for an aggregate with none,
    ///   which loads as `A()`).
    /// - Throws: ``EventSourcingError`` `invalidArgument` (an empty id, or `"*"`), `decodingFailed` (an event the
    ///   codec cannot read); the client's `StreamKitError`s.
    /// - Complexity: O(events after the latest snapshot).
    public func load(_ id: String) async throws -> (aggregate: A, version: UInt64) {
        try validate(id)
        var aggregate = A()
        var version: UInt64 = 0
        if let snapshot = try await latestSnapshot(id) {
            (aggregate, version) = snapshot
        }
        try await fold(id, into: &aggregate, version: &version, through: nil)
        return (aggregate, version)
    }

    // MARK: - Saving

    /// Appends events to an aggregate if it is still at `expectedVersion`.
    ///
    /// The events are encoded and produced as one transaction at sequences `expectedVersion + 1 …`: they are all
    /// written, or none is. When the save crosses a multiple of the snapshot interval, a snapshot is written after
    /// it (a failure there is only logged).
    ///
    /// A save that fails with a `StreamKitError` the client reports as retryable after the request may have
    /// reached the store (`storeUnavailable` from a lost WebSocket connection) may or may not have been written:
    /// load again; if the version moved, saving the same events again gets `versionConflict`.
    ///
    /// - Parameters:
    ///   - id: The aggregate's id (its segment).
    ///   - events: The new events, in order; at least one, and at most ``limits``.
    ///   - expectedVersion: The version the events follow, as ``load(_:)`` returned it (0 for a new aggregate).
    /// - Returns: The new version, `expectedVersion + events.count`.
    /// - Throws: ``EventSourcingError`` `versionConflict` (with the current version; nothing written),
    ///   `invalidArgument` (an empty id or `"*"`, no events, a version that would overflow), `saveTooLarge`
    ///   (nothing written), `encodingFailed` (nothing written); the client's `StreamKitError`s (`limitExceeded` for
    ///   an event over the store's payload or metadata limits, nothing written; `storeClosing` …).
    @discardableResult
    public func save(_ id: String, events: [A.Event], expectedVersion: UInt64) async throws -> UInt64 {
        try validate(id)
        guard !events.isEmpty else { throw EventSourcingError.invalidArgument(id, "a save needs at least one event") }
        let (newVersion, overflow) = expectedVersion.addingReportingOverflow(UInt64(events.count))
        guard !overflow else {
            throw EventSourcingError.invalidArgument(
                id, "expected version \(expectedVersion) plus \(events.count) events overflows")
        }
        guard events.count <= limits.maxEvents else {
            throw EventSourcingError.saveTooLarge(id, "events", limit: limits.maxEvents, value: events.count)
        }
        let records = try encode(id, events, after: expectedVersion)
        let bytes = records.reduce(0) { $0 + $1.payload.count }
        if records.count > 1 && bytes > limits.maxBytes {
            throw EventSourcingError.saveTooLarge(id, "payload bytes", limit: limits.maxBytes, value: bytes)
        }
        let statuses: [SegmentStatus]
        do {
            statuses = try await client.produce(store: store, space: space, segment: id, records: records)
        } catch let error as StreamKitError where error.code == .sequenceConflict {
            let current = try await currentVersion(id, after: error, expected: expectedVersion)
            throw EventSourcingError.versionConflict(id, expected: expectedVersion, current: current)
        }
        if statuses.count > 1 {
            logger.warning(
                "a save was committed in several transactions: the repository's limits are above the store's",
                metadata: metadata(id, ["version": "\(newVersion)", "transactions": "\(statuses.count)"]))
        }
        if let snapshots, snapshots.isDue(from: expectedVersion, to: newVersion) {
            await writeSnapshot(id, version: newVersion, policy: snapshots)
        }
        return newVersion
    }

    // MARK: - Internals

    /// Fails with `invalidArgument` for an id that cannot name an aggregate's segment.
    func validate(_ id: String) throws {
        guard !id.isEmpty else { throw EventSourcingError.invalidArgument(id, "the aggregate id is empty") }
        guard id != "*" else { throw EventSourcingError.invalidArgument(id, "\"*\" cannot be an aggregate id") }
    }

    /// The events as records at the sequences after `version`.
    private func encode(_ id: String, _ events: [A.Event], after version: UInt64) throws -> [Record] {
        var records: [Record] = []
        records.reserveCapacity(events.count)
        for (index, event) in events.enumerated() {
            let encoded: (payload: [UInt8], metadata: [String: String])
            do {
                encoded = try codec.encode(event)
            } catch {
                throw EventSourcingError.encodingFailed(id, index: index, error)
            }
            records.append(
                Record(sequence: version + 1 + UInt64(index), payload: encoded.payload, metadata: encoded.metadata))
        }
        return records
    }

    /// Applies the events after `version` (through `last`, or to the end for nil) to `aggregate`, reading them as a
    /// stream; `version` follows the last event applied.
    func fold(_ id: String, into aggregate: inout A, version: inout UInt64, through last: UInt64?) async throws {
        let events = client.consumeSegment(
            store: store, space: space, segment: id, minSequence: version + 1, maxSequence: last ?? 0)
        for try await entry in events {
            let event: A.Event
            do {
                event = try codec.decode(entry)
            } catch {
                throw EventSourcingError.decodingFailed(id, sequence: entry.sequence, error)
            }
            aggregate.apply(event)
            version = entry.sequence
        }
    }

    /// The aggregate's version after a save expecting `expected` met `conflict`: the segment's last sequence as the
    /// store reported it (the sequence it expected, less one), or, when the error does not say, as a peek finds it.
    private func currentVersion(
        _ id: String, after conflict: StreamKitError, expected: UInt64
    ) async throws
        -> UInt64
    {
        if let next = conflict.expectedSequence, next > 0, next != expected + 1 { return next - 1 }
        return try await client.peek(store: store, space: space, segment: id)?.sequence ?? 0
    }

    /// Log metadata naming the aggregate.
    func metadata(_ id: String, _ more: Logger.Metadata = [:]) -> Logger.Metadata {
        var metadata = more
        metadata["store_id"] = "\(store)"
        metadata["space"] = "\(space)"
        metadata["segment"] = "\(id)"
        return metadata
    }
}

// MARK: - JSON events

extension AggregateRepository where A.Event: Codable {
    /// Creates a repository whose events are stored as JSON (``JSONEventCodec``, the type name in the metadata key
    /// `"type"`).
    ///
    /// - Parameters:
    ///   - client: The client (either transport); its logger gets the repository's warnings.
    ///   - store: The store holding the aggregates.
    ///   - space: The space of the aggregates' segments.
    ///   - snapshots: When to keep snapshots, and how; nil (the default) keeps none.
    ///   - limits: The most one save may hold: the store's transaction limits (see ``SaveLimits``).
    public init(
        client: StreamKitClient, store: UUID, space: String, snapshots: SnapshotPolicy<A>? = nil,
        limits: SaveLimits = SaveLimits()
    ) {
        self.init(
            client: client, store: store, space: space, codec: JSONEventCodec<A.Event>(), snapshots: snapshots,
            limits: limits)
    }
}
