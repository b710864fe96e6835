public import StreamKitEngine

/// Every message of the StreamKit API as it crosses the wire: requests with their arguments, streamed batches,
/// results and errors.
///
/// Batches are first-class: ``records(_:)`` and ``entries(_:)`` carry many records or entries, so the hot path
/// costs one message per batch. Encode with ``WireEncoder`` and decode with ``WireDecoder``; the byte layout
/// of each case is in `docs/protocol.md`. Which messages answer which request is up to the stream layer;
/// the usual pairs are noted on each case.
public enum WireMessage: Hashable, Sendable {
    // MARK: Connection and generic results

    /// Version and feature negotiation, sent first by both sides.
    case hello(WireHello)
    /// A typed error: the request (or stream) failed. The client rebuilds the same `StreamKitError`.
    case error(StreamKitError)
    /// A call without a value result succeeded (lease release, worker heartbeat); the flag is the call's
    /// Boolean result where it has one (`unregisterWorker`: whether a registration was removed), else `true`.
    case ack(Bool)
    /// A call whose result is optional returned nothing (the status of an unknown segment).
    case empty

    // MARK: Writes

    /// Opens a produce upload to a segment; ``records(_:)`` batches and ``produceEnd`` follow, ``status(_:)``
    /// acknowledgements answer.
    case produceOpen(space: String, segment: String)
    /// A batch of records of an open produce.
    case records([Record])
    /// The producer sent its last batch.
    case produceEnd
    /// A segment status: a produce or publish acknowledgement, a `getStatus` result, a subscription update.
    case status(SegmentStatus)
    /// Appends one record at the segment's next sequence; ``status(_:)`` answers.
    case publish(space: String, segment: String, payload: [UInt8], metadata: [String: String])

    // MARK: Reads

    /// The newest entry of a segment; ``entries(_:)`` with zero or one entry answers.
    case peek(space: String, segment: String)
    /// A segment's status; ``status(_:)`` or ``empty`` answers.
    case getStatus(space: String, segment: String)
    /// Reads a segment in sequence order; ``entries(_:)`` batches answer.
    case consumeSegment(space: String, segment: String, bounds: ReadBounds, limit: Int)
    /// Reads a space in commit order after `offset`; ``entries(_:)`` batches answer.
    case consumeSpace(space: String, offset: Offset, bounds: ReadBounds, limit: Int)
    /// Reads several spaces merged in commit order, each after its own offset; ``entries(_:)`` batches answer.
    case consume(spaces: [String: Offset], bounds: ReadBounds, limit: Int)
    /// A batch of entries.
    case entries([Entry])
    /// A stretch of a read as the stored block it lies in (to clients that listed ``StoredEntries/feature``).
    case storedEntries(StoredEntries)
    /// Lists the store's spaces; ``names(_:)`` answers.
    case spaces
    /// Lists a space's segments; ``names(_:)`` answers.
    case segments(space: String)
    /// A list of names (spaces or segments).
    case names([String])
    /// Subscribes to segment statuses (`segment` `"*"` for all); ``status(_:)`` messages answer, heartbeats
    /// among them every `heartbeatSeconds` when set.
    case subscribe(space: String, segment: String, heartbeatSeconds: Int?)
    /// Deletes a segment's entries with sequences below `before` (nil: all of them); ``deleted(count:)``
    /// answers. Only to servers that listed ``deleteFeature`` (older ones close the connection on it).
    case deleteEntries(space: String, segment: String, before: UInt64?)
    /// How many entries a ``deleteEntries(space:segment:before:)`` deleted.
    case deleted(count: UInt64)
    /// Asks for the store's retention; ``retention(_:)`` answers. Only to servers that listed ``retentionFeature``.
    case getRetention
    /// Gives the store a retention policy of its own (nil: back to the server's default); ``retention(_:)``
    /// answers with the result. Only to servers that listed ``retentionFeature``.
    case setRetention(LogRetention.Policy?)
    /// A store's retention: its own policy and the server's default.
    case retention(StoreRetention)

    // MARK: Durable consumers (only to servers that listed ``consumersFeature``)

    /// Creates a durable consumer (or finds the same one); ``consumers(_:)`` answers with it.
    case consumerCreate(name: String, target: ConsumerTarget, startAtHead: Bool)
    /// Asks for one consumer (nil: every one) with its lag; ``consumers(_:)`` answers (empty: none of that name).
    case consumerQuery(name: String?)
    /// Acknowledges a consumer's entries through a position; ``ack(_:)`` answers once accepted (durable: recorded).
    case consumerAck(name: String, position: ConsumerPosition, fencingToken: UInt64, durable: Bool)
    /// Deletes a consumer; ``ack(_:)`` answers with whether it existed.
    case consumerDelete(name: String)
    /// Consumers with their lag.
    case consumers([ConsumerStatus])

    // MARK: Leases

    /// Acquires (or refreshes) a lease; ``leaseResult(_:)`` answers (nil while another holder has it).
    case leaseAcquire(key: String, holder: String, ttlSeconds: Double)
    /// Renews a held lease, optionally with a new time to live; ``leaseResult(_:)`` answers.
    case leaseRenew(Lease, ttlSeconds: Double?)
    /// Releases a held lease; ``ack(_:)`` answers.
    case leaseRelease(Lease)
    /// The live lease on a key; ``leaseResult(_:)`` answers.
    case leaseQuery(key: String)
    /// A lease, or nil for none.
    case leaseResult(Lease?)

    // MARK: Worker presence

    /// Registers a worker; ``workerRegistered(generation:worker:replacedGeneration:inventory:)`` answers.
    case workerRegister(workerID: String, metadata: [String: String], heartbeatSeconds: Int)
    /// A registration: its generation, the worker, the registration it replaced, and the inventory after it.
    case workerRegistered(
        generation: UInt64, worker: WorkerInfo, replacedGeneration: UInt64?, inventory: WorkerInventory)
    /// A worker's heartbeat; ``ack(_:)`` answers.
    case workerHeartbeat(workerID: String, generation: UInt64)
    /// Removes a registration; ``ack(_:)`` answers with whether one was removed.
    case workerUnregister(workerID: String, generation: UInt64)
    /// Asks for the live workers; ``workerInventory(_:)`` answers.
    case workerInventoryRequest
    /// The live workers.
    case workerInventory(WorkerInventory)
    /// Watches the live workers; ``workerInventory(_:)`` messages answer (the current inventory, then one per
    /// change) until the client ends the stream. Only to servers that listed ``workerWatchFeature``.
    case workerWatch
}

// MARK: - Kind

extension WireMessage {
    /// The hello feature of peers that know ``deleteEntries(space:segment:before:)``.
    public static let deleteFeature = "delete"
    /// The hello feature of peers that know ``getRetention``, ``setRetention(_:)`` and ``retention(_:)``.
    public static let retentionFeature = "retention"
    /// The hello feature of peers that know the durable consumer messages (``consumerCreate(name:target:startAtHead:)``
    /// and the rest).
    public static let consumersFeature = "consumers"
    /// The hello feature of peers that know ``workerWatch``.
    public static let workerWatchFeature = "worker-watch"

    /// Whether the request deletes entries, at once or by setting a retention policy: a token needs the
    /// `streamkit::delete:` grant for it.
    package var deletesEntries: Bool {
        switch self {
        case .deleteEntries, .setRetention: true
        default: false
        }
    }

    /// The kind tag this message is framed with.
    public var kind: WireMessageKind {
        switch self {
        case .hello: .hello
        case .error: .error
        case .ack: .ack
        case .empty: .empty
        case .produceOpen: .produceOpen
        case .records: .records
        case .produceEnd: .produceEnd
        case .status: .status
        case .publish: .publish
        case .peek: .peek
        case .getStatus: .getStatus
        case .consumeSegment: .consumeSegment
        case .consumeSpace: .consumeSpace
        case .consume: .consume
        case .entries: .entries
        case .storedEntries: .storedEntries
        case .spaces: .spaces
        case .segments: .segments
        case .names: .names
        case .subscribe: .subscribe
        case .deleteEntries: .deleteEntries
        case .deleted: .deleted
        case .getRetention: .getRetention
        case .setRetention: .setRetention
        case .retention: .retention
        case .consumerCreate: .consumerCreate
        case .consumerQuery: .consumerQuery
        case .consumerAck: .consumerAck
        case .consumerDelete: .consumerDelete
        case .consumers: .consumers
        case .leaseAcquire: .leaseAcquire
        case .leaseRenew: .leaseRenew
        case .leaseRelease: .leaseRelease
        case .leaseQuery: .leaseQuery
        case .leaseResult: .leaseResult
        case .workerRegister: .workerRegister
        case .workerRegistered: .workerRegistered
        case .workerHeartbeat: .workerHeartbeat
        case .workerUnregister: .workerUnregister
        case .workerInventoryRequest: .workerInventoryRequest
        case .workerInventory: .workerInventory
        case .workerWatch: .workerWatch
        }
    }

    /// A registration result from the store's `registerWorker`.
    ///
    /// - Parameter registration: What `Store.registerWorker` returned.
    /// - Returns: The ``workerRegistered(generation:worker:replacedGeneration:inventory:)`` message.
    public static func workerRegistered(_ registration: WorkerRegistration) -> WireMessage {
        .workerRegistered(
            generation: registration.generation, worker: registration.worker,
            replacedGeneration: registration.replacedGeneration, inventory: registration.inventory)
    }
}
