import StreamKitEngine

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension WireMessage {
    /// Appends the message body (no frame header) to `buffer`, in the field order of `docs/protocol.md`.
    /// - Throws: `tooLarge` when a string, map, list or batch is over `limits`.
    func encodeBody(into buffer: inout WireBuffer, limits: WireLimits) throws(WireError) {
        switch self {
        case .hello(let hello):
            buffer.writeVarint(UInt64(hello.minVersion))
            buffer.writeVarint(UInt64(hello.maxVersion))
            try buffer.writeStrings(hello.features, limits: limits)
        case .error(let error):
            try error.encodeWire(into: &buffer, limits: limits)
        case .ack(let flag):
            buffer.writeBool(flag)
        case .empty, .produceEnd, .spaces, .workerInventoryRequest, .workerWatch:
            break
        case .produceOpen(let space, let segment), .peek(let space, let segment),
            .getStatus(let space, let segment):
            try buffer.writeString(space, limit: limits.maxStringBytes)
            try buffer.writeString(segment, limit: limits.maxStringBytes)
        case .records(let records):
            try RecordBatchCodec.encode(records, into: &buffer, limits: limits)
        case .status(let status):
            try status.encodeWire(into: &buffer, limits: limits)
        case .publish(let space, let segment, let payload, let metadata):
            try buffer.writeString(space, limit: limits.maxStringBytes)
            try buffer.writeString(segment, limit: limits.maxStringBytes)
            payload.withUnsafeBytes { buffer.writeBytes($0) }
            try buffer.writeMetadata(metadata, limits: limits)
        case .consumeSegment(let space, let segment, let bounds, let limit):
            try buffer.writeString(space, limit: limits.maxStringBytes)
            try buffer.writeString(segment, limit: limits.maxStringBytes)
            bounds.encodeWire(into: &buffer)
            buffer.writeZigZag(limit)
        case .consumeSpace(let space, let offset, let bounds, let limit):
            try buffer.writeString(space, limit: limits.maxStringBytes)
            offset.encodeWire(into: &buffer)
            bounds.encodeWire(into: &buffer)
            buffer.writeZigZag(limit)
        case .consume(let spaces, let bounds, let limit):
            try buffer.writeCount(spaces.count, "spaces", limit: limits.maxListCount)
            for (space, offset) in spaces {
                try buffer.writeString(space, limit: limits.maxStringBytes)
                offset.encodeWire(into: &buffer)
            }
            bounds.encodeWire(into: &buffer)
            buffer.writeZigZag(limit)
        case .entries(let entries):
            try EntryBatchCodec.encode(entries, into: &buffer, limits: limits)
        case .storedEntries(let stored):
            stored.encode(into: &buffer)
        case .segments(let space), .leaseQuery(let space):
            try buffer.writeString(space, limit: limits.maxStringBytes)
        case .names(let names):
            try buffer.writeStrings(names, limits: limits)
        case .subscribe(let space, let segment, let heartbeatSeconds):
            try buffer.writeString(space, limit: limits.maxStringBytes)
            try buffer.writeString(segment, limit: limits.maxStringBytes)
            buffer.writeBool(heartbeatSeconds != nil)
            if let heartbeatSeconds { buffer.writeZigZag(heartbeatSeconds) }
        case .deleteEntries(let space, let segment, let before):
            try buffer.writeString(space, limit: limits.maxStringBytes)
            try buffer.writeString(segment, limit: limits.maxStringBytes)
            buffer.writeBool(before != nil)
            if let before { buffer.writeVarint(before) }
        case .deleted(let count):
            buffer.writeVarint(count)
        case .getRetention:
            break
        case .setRetention(let policy):
            buffer.writeBool(policy != nil)
            if let policy { buffer.writePolicy(policy) }
        case .retention(let retention):
            buffer.writeBool(retention.own != nil)
            if let own = retention.own { buffer.writePolicy(own) }
            buffer.writePolicy(retention.configured)
        case .consumerCreate(let name, let target, let startAtHead):
            try buffer.writeString(name, limit: limits.maxStringBytes)
            try buffer.writeTarget(target, limits: limits)
            buffer.writeBool(startAtHead)
        case .consumerQuery(let name):
            buffer.writeBool(name != nil)
            if let name { try buffer.writeString(name, limit: limits.maxStringBytes) }
        case .consumerAck(let name, let position, let fencingToken, let durable):
            try buffer.writeString(name, limit: limits.maxStringBytes)
            try buffer.writePosition(position, limits: limits)
            buffer.writeVarint(fencingToken)
            buffer.writeBool(durable)
        case .consumerDelete(let name):
            try buffer.writeString(name, limit: limits.maxStringBytes)
        case .consumers(let statuses):
            try buffer.writeCount(statuses.count, "consumers", limit: limits.maxListCount)
            for status in statuses {
                let consumer = status.consumer
                try buffer.writeString(consumer.name, limit: limits.maxStringBytes)
                try buffer.writeTarget(consumer.target, limits: limits)
                try buffer.writePosition(consumer.position, limits: limits)
                buffer.writeVarint(consumer.fencingToken)
                buffer.writeZigZag(consumer.createdAt)
                buffer.writeZigZag(consumer.updatedAt)
                buffer.writeZigZag(status.lag.entries)
                buffer.writeZigZag(status.lag.nanoseconds)
            }
        case .leaseAcquire(let key, let holder, let ttlSeconds):
            try buffer.writeString(key, limit: limits.maxStringBytes)
            try buffer.writeString(holder, limit: limits.maxStringBytes)
            buffer.writeDouble(ttlSeconds)
        case .leaseRenew(let lease, let ttlSeconds):
            try lease.encodeWire(into: &buffer, limits: limits)
            buffer.writeBool(ttlSeconds != nil)
            if let ttlSeconds { buffer.writeDouble(ttlSeconds) }
        case .leaseRelease(let lease):
            try lease.encodeWire(into: &buffer, limits: limits)
        case .leaseResult(let lease):
            buffer.writeBool(lease != nil)
            if let lease { try lease.encodeWire(into: &buffer, limits: limits) }
        case .workerRegister(let workerID, let metadata, let heartbeatSeconds):
            try buffer.writeString(workerID, limit: limits.maxStringBytes)
            try buffer.writeMetadata(metadata, limits: limits)
            buffer.writeZigZag(heartbeatSeconds)
        case .workerRegistered(let generation, let worker, let replacedGeneration, let inventory):
            buffer.writeVarint(generation)
            try worker.encodeWire(into: &buffer, limits: limits)
            buffer.writeBool(replacedGeneration != nil)
            if let replacedGeneration { buffer.writeVarint(replacedGeneration) }
            try inventory.encodeWire(into: &buffer, limits: limits)
        case .workerHeartbeat(let workerID, let generation), .workerUnregister(let workerID, let generation):
            try buffer.writeString(workerID, limit: limits.maxStringBytes)
            buffer.writeVarint(generation)
        case .workerInventory(let inventory):
            try inventory.encodeWire(into: &buffer, limits: limits)
        }
    }
}

// MARK: - Field groups

extension SegmentStatus {
    func encodeWire(into buffer: inout WireBuffer, limits: WireLimits) throws(WireError) {
        try buffer.writeString(space, limit: limits.maxStringBytes)
        try buffer.writeString(segment, limit: limits.maxStringBytes)
        buffer.writeVarint(firstSequence)
        buffer.writeZigZag(firstTimestamp)
        buffer.writeVarint(lastSequence)
        buffer.writeZigZag(lastTimestamp)
        buffer.writeBool(isHeartbeat)
    }
}

extension Offset {
    func encodeWire(into buffer: inout WireBuffer) {
        buffer.writeVarint(position)
        buffer.writeZigZag(timestamp)
    }
}

extension WireBuffer {
    /// What a consumer reads: a byte (0 spaces, 1 segment), then the space names, or the space and the segment.
    mutating func writeTarget(_ target: ConsumerTarget, limits: WireLimits) throws(WireError) {
        switch target {
        case .spaces(let spaces):
            writeByte(0)
            try writeStrings(spaces, limits: limits)
        case .segment(let space, let segment):
            writeByte(1)
            try writeString(space, limit: limits.maxStringBytes)
            try writeString(segment, limit: limits.maxStringBytes)
        }
    }

    /// A consumer position: the sequence, then a count of (space, position, zig-zag timestamp) offsets.
    mutating func writePosition(_ position: ConsumerPosition, limits: WireLimits) throws(WireError) {
        writeVarint(position.sequence)
        try writeCount(position.offsets.count, "consumer offsets", limit: limits.maxListCount)
        for (space, offset) in position.offsets.sorted(by: { $0.key < $1.key }) {
            try writeString(space, limit: limits.maxStringBytes)
            writeVarint(offset.position)
            writeZigZag(offset.timestamp)
        }
    }

    /// A retention policy (``WireReader``'s `policy()` reads it); bounds are written as they are (the engine
    /// refuses those below 1).
    mutating func writePolicy(_ policy: LogRetention.Policy) {
        let bounds = [
            policy.maxAge.map(\.nanoseconds), policy.maxBytes, policy.maxEntriesPerSegment.map(Int64.init),
        ]
        for bound in bounds {
            writeBool(bound != nil)
            if let bound { writeVarint(UInt64(bitPattern: bound)) }
        }
    }
}

extension ReadBounds {
    func encodeWire(into buffer: inout WireBuffer) {
        buffer.writeVarint(minSequence)
        buffer.writeVarint(maxSequence)
        buffer.writeZigZag(minTimestamp)
        buffer.writeZigZag(maxTimestamp)
    }
}

extension Lease {
    func encodeWire(into buffer: inout WireBuffer, limits: WireLimits) throws(WireError) {
        try buffer.writeString(key, limit: limits.maxStringBytes)
        try buffer.writeString(holder, limit: limits.maxStringBytes)
        buffer.writeVarint(fencingToken)
        buffer.writeVarint(expiresAt)
        buffer.writeVarint(ttl)
    }
}

extension WorkerInfo {
    func encodeWire(into buffer: inout WireBuffer, limits: WireLimits) throws(WireError) {
        try buffer.writeString(workerID, limit: limits.maxStringBytes)
        try buffer.writeMetadata(metadata, limits: limits)
        buffer.writeVarint(heartbeatInterval)
        buffer.writeVarint(registeredAt)
        buffer.writeVarint(lastSeenAt)
    }
}

extension WorkerInventory {
    func encodeWire(into buffer: inout WireBuffer, limits: WireLimits) throws(WireError) {
        buffer.writeVarint(version)
        try buffer.writeCount(workers.count, "workers", limit: limits.maxListCount)
        for worker in workers { try worker.encodeWire(into: &buffer, limits: limits) }
    }
}
