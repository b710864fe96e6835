import StreamKitEngine

/// Wire layout of a batch of records: a count, then per record the sequence as a zig-zag delta from the
/// previous record's (the first from 0), the payload (varint length + bytes) and the metadata map.
enum RecordBatchCodec {
    static func encode(_ records: [Record], into buffer: inout WireBuffer, limits: WireLimits) throws(WireError) {
        try buffer.writeCount(records.count, "records in a batch", limit: limits.maxBatchCount)
        var previous: UInt64 = 0
        for record in records {
            let payloadCount = record.payload.count
            buffer.reserve(20 &+ payloadCount)
            buffer.putVarint(ZigZag.encode(Int64(bitPattern: record.sequence &- previous)))
            previous = record.sequence
            buffer.putVarint(UInt64(payloadCount))
            record.payload.withUnsafeBytes { buffer.putRaw($0) }
            if record.metadata.isEmpty {
                buffer.putByte(0)
            } else {
                try buffer.writeMetadata(record.metadata, limits: limits)
            }
        }
    }

    static func decode(from reader: inout WireReader) throws(WireError) -> [Record] {
        // Smallest record: sequence delta, payload length and metadata count, one byte each.
        let count = try reader.count("records in a batch", limit: reader.limits.maxBatchCount, minimumBytes: 3)
        var records: [Record] = []
        records.reserveCapacity(count)
        var previous: UInt64 = 0
        for _ in 0..<count {
            let sequence = previous &+ UInt64(bitPattern: try reader.zigZag())
            previous = sequence
            let payload = try reader.byteArray(limit: Int.max)
            let metadata = try reader.metadata()
            records.append(Record(sequence: sequence, payload: payload, metadata: metadata))
        }
        return records
    }
}
