import StreamKitEngine

extension WireMessage {
    /// Reads a whole message body of `kind`; bytes left after the last field are malformed.
    static func decodeBody(kind: WireMessageKind, from reader: inout WireReader) throws(WireError) -> WireMessage {
        let limits = reader.limits
        let message: WireMessage
        switch kind {
        case .hello:
            let minVersion = try reader.version()
            let maxVersion = try reader.version()
            message = .hello(WireHello(minVersion: minVersion, maxVersion: maxVersion, features: try reader.strings()))
        case .error:
            message = .error(try StreamKitError.decodeWire(from: &reader))
        case .ack:
            message = .ack(try reader.bool())
        case .empty:
            message = .empty
        case .produceOpen:
            message = .produceOpen(
                space: try reader.string("a space name"), segment: try reader.string("a segment name"))
        case .records:
            message = .records(try RecordBatchCodec.decode(from: &reader))
        case .produceEnd:
            message = .produceEnd
        case .status:
            message = .status(try reader.segmentStatus())
        case .publish:
            let space = try reader.string("a space name")
            let segment = try reader.string("a segment name")
            let payload = try reader.byteArray(limit: Int.max)
            message = .publish(space: space, segment: segment, payload: payload, metadata: try reader.metadata())
        case .peek:
            message = .peek(space: try reader.string("a space name"), segment: try reader.string("a segment name"))
        case .getStatus:
            message = .getStatus(space: try reader.string("a space name"), segment: try reader.string("a segment name"))
        case .consumeSegment:
            let space = try reader.string("a space name")
            let segment = try reader.string("a segment name")
            let bounds = try reader.readBounds()
            message = .consumeSegment(space: space, segment: segment, bounds: bounds, limit: try reader.int())
        case .consumeSpace:
            let space = try reader.string("a space name")
            let offset = try reader.offsetValue()
            let bounds = try reader.readBounds()
            message = .consumeSpace(space: space, offset: offset, bounds: bounds, limit: try reader.int())
        case .consume:
            // Smallest element: an empty name and a two-byte offset.
            let count = try reader.count("spaces", limit: limits.maxListCount, minimumBytes: 3)
            var spaces = [String: Offset](minimumCapacity: count)
            for _ in 0..<count {
                let start = reader.position
                let space = try reader.string("a space name")
                guard spaces.updateValue(try reader.offsetValue(), forKey: space) == nil else {
                    throw .malformed(at: start, "a space is listed twice")
                }
            }
            let bounds = try reader.readBounds()
            message = .consume(spaces: spaces, bounds: bounds, limit: try reader.int())
        case .entries:
            message = .entries(try EntryBatchCodec.decode(from: &reader))
        case .storedEntries:
            message = .storedEntries(try StoredEntries.decode(from: &reader))
        case .spaces:
            message = .spaces
        case .segments:
            message = .segments(space: try reader.string("a space name"))
        case .names:
            message = .names(try reader.strings())
        case .subscribe:
            let space = try reader.string("a space name")
            let segment = try reader.string("a segment name")
            let heartbeat = try reader.presence() ? try reader.int() : nil
            message = .subscribe(space: space, segment: segment, heartbeatSeconds: heartbeat)
        case .deleteEntries:
            let space = try reader.string("a space name")
            let segment = try reader.string("a segment name")
            message = .deleteEntries(
                space: space, segment: segment, before: try reader.presence() ? try reader.varint() : nil)
        case .deleted:
            message = .deleted(count: try reader.varint())
        case .getRetention:
            message = .getRetention
        case .setRetention:
            message = .setRetention(try reader.presence() ? try reader.policy() : nil)
        case .retention:
            let own = try reader.presence() ? try reader.policy() : nil
            message = .retention(StoreRetention(own: own, configured: try reader.policy()))
        case .consumerCreate:
            let name = try reader.string("a consumer name")
            let target = try reader.target()
            message = .consumerCreate(name: name, target: target, startAtHead: try reader.bool())
        case .consumerQuery:
            message = .consumerQuery(name: try reader.presence() ? try reader.string("a consumer name") : nil)
        case .consumerAck:
            let name = try reader.string("a consumer name")
            let position = try reader.consumerPosition()
            let token = try reader.varint()
            message = .consumerAck(name: name, position: position, fencingToken: token, durable: try reader.bool())
        case .consumerDelete:
            message = .consumerDelete(name: try reader.string("a consumer name"))
        case .consumers:
            let count = try reader.count("consumers", limit: reader.limits.maxListCount, minimumBytes: 8)
            var statuses: [ConsumerStatus] = []
            for _ in 0..<count {
                let name = try reader.string("a consumer name")
                let target = try reader.target()
                let position = try reader.consumerPosition()
                let token = try reader.varint()
                let createdAt = try reader.zigZag()
                let updatedAt = try reader.zigZag()
                let entries = try reader.int()
                let lag = ConsumerLag(entries: entries, nanoseconds: try reader.zigZag())
                let consumer = Consumer(
                    name: name, target: target, position: position, fencingToken: token, createdAt: createdAt,
                    updatedAt: updatedAt)
                statuses.append(ConsumerStatus(consumer: consumer, lag: lag))
            }
            message = .consumers(statuses)
        case .leaseAcquire:
            let key = try reader.string("a lease key")
            let holder = try reader.string("a lease holder")
            message = .leaseAcquire(key: key, holder: holder, ttlSeconds: try reader.double())
        case .leaseRenew:
            let lease = try reader.lease()
            message = .leaseRenew(lease, ttlSeconds: try reader.presence() ? try reader.double() : nil)
        case .leaseRelease:
            message = .leaseRelease(try reader.lease())
        case .leaseQuery:
            message = .leaseQuery(key: try reader.string("a lease key"))
        case .leaseResult:
            message = .leaseResult(try reader.presence() ? try reader.lease() : nil)
        case .workerRegister:
            let workerID = try reader.string("a worker id")
            let metadata = try reader.metadata()
            message = .workerRegister(workerID: workerID, metadata: metadata, heartbeatSeconds: try reader.int())
        case .workerRegistered:
            let generation = try reader.varint()
            let worker = try reader.workerInfo()
            let replaced = try reader.presence() ? try reader.varint() : nil
            message = .workerRegistered(
                generation: generation, worker: worker, replacedGeneration: replaced,
                inventory: try reader.workerInventory())
        case .workerHeartbeat:
            message = .workerHeartbeat(workerID: try reader.string("a worker id"), generation: try reader.varint())
        case .workerUnregister:
            message = .workerUnregister(workerID: try reader.string("a worker id"), generation: try reader.varint())
        case .workerInventoryRequest:
            message = .workerInventoryRequest
        case .workerInventory:
            message = .workerInventory(try reader.workerInventory())
        case .workerWatch:
            message = .workerWatch
        }
        try reader.expectEnd("the \(kind) message")
        return message
    }
}

// MARK: - Field groups

extension WireReader {
    fileprivate mutating func version() throws(WireError) -> UInt32 {
        let start = position
        let value = try varint()
        guard let version = UInt32(exactly: value) else {
            throw .malformed(at: start, "a protocol version of \(value) does not fit in 32 bits")
        }
        return version
    }

    /// A retention policy: each bound a presence byte and, when present, a varint (nanoseconds for the age); a
    /// bound that does not fit the engine's types is malformed (zero and negative ones are the engine's to refuse).
    fileprivate mutating func policy() throws(WireError) -> LogRetention.Policy {
        var bounds: [Int64?] = []
        for name in ["a maximum age", "a maximum size", "a maximum entry count"] {
            guard try presence() else {
                bounds.append(nil)
                continue
            }
            let start = position
            let value = try varint()
            guard let bound = Int64(exactly: value) else {
                throw .malformed(at: start, "\(name) of \(value) is too large")
            }
            bounds.append(bound)
        }
        return LogRetention.Policy(
            maxAge: bounds[0].map { .nanoseconds($0) }, maxBytes: bounds[1],
            maxEntriesPerSegment: bounds[2].map { Int($0) })
    }

    /// What a consumer reads (``WireBuffer/writeTarget(_:limits:)``).
    fileprivate mutating func target() throws(WireError) -> ConsumerTarget {
        let start = position
        switch try byte("a consumer target kind") {
        case 0: return .spaces(try strings())
        case 1: return .segment(space: try string("a space"), segment: try string("a segment"))
        case let kind: throw .malformed(at: start, "consumer target kind \(kind)")
        }
    }

    /// A consumer position (``WireBuffer/writePosition(_:limits:)``).
    fileprivate mutating func consumerPosition() throws(WireError) -> ConsumerPosition {
        let sequence = try varint()
        let count = try count("consumer offsets", limit: limits.maxListCount, minimumBytes: 3)
        var offsets: [String: Offset] = [:]
        for _ in 0..<count {
            let start = position
            let space = try string("a space")
            let offset = Offset(position: try varint(), timestamp: try zigZag())
            guard offsets.updateValue(offset, forKey: space) == nil else {
                throw .malformed(at: start, "space \(space) twice")
            }
        }
        return ConsumerPosition(offsets: offsets, sequence: sequence)
    }

    fileprivate mutating func strings() throws(WireError) -> [String] {
        let count = try count("list elements", limit: limits.maxListCount, minimumBytes: 1)
        var strings: [String] = []
        strings.reserveCapacity(count)
        for _ in 0..<count { strings.append(try string()) }
        return strings
    }

    fileprivate mutating func segmentStatus() throws(WireError) -> SegmentStatus {
        let space = try string("a space name")
        let segment = try string("a segment name")
        let firstSequence = try varint()
        let firstTimestamp = try zigZag()
        let lastSequence = try varint()
        let lastTimestamp = try zigZag()
        return SegmentStatus(
            space: space, segment: segment, firstSequence: firstSequence, firstTimestamp: firstTimestamp,
            lastSequence: lastSequence, lastTimestamp: lastTimestamp, isHeartbeat: try bool())
    }

    fileprivate mutating func offsetValue() throws(WireError) -> Offset {
        let position = try varint()
        return Offset(position: position, timestamp: try zigZag())
    }

    fileprivate mutating func readBounds() throws(WireError) -> ReadBounds {
        let minSequence = try varint()
        let maxSequence = try varint()
        let minTimestamp = try zigZag()
        return ReadBounds(
            minSequence: minSequence, maxSequence: maxSequence, minTimestamp: minTimestamp, maxTimestamp: try zigZag())
    }

    fileprivate mutating func lease() throws(WireError) -> Lease {
        let key = try string("a lease key")
        let holder = try string("a lease holder")
        let fencingToken = try varint()
        let expiresAt = try varint()
        return Lease(key: key, holder: holder, fencingToken: fencingToken, expiresAt: expiresAt, ttl: try varint())
    }

    fileprivate mutating func workerInfo() throws(WireError) -> WorkerInfo {
        let workerID = try string("a worker id")
        let metadata = try metadata()
        let heartbeatInterval = try varint()
        let registeredAt = try varint()
        return WorkerInfo(
            workerID: workerID, metadata: metadata, heartbeatInterval: heartbeatInterval, registeredAt: registeredAt,
            lastSeenAt: try varint())
    }

    fileprivate mutating func workerInventory() throws(WireError) -> WorkerInventory {
        let version = try varint()
        // Smallest worker: an empty id, an empty map and three one-byte numbers.
        let count = try count("workers", limit: limits.maxListCount, minimumBytes: 5)
        var workers: [WorkerInfo] = []
        workers.reserveCapacity(count)
        for _ in 0..<count { workers.append(try workerInfo()) }
        return WorkerInventory(workers: workers, version: version)
    }
}
