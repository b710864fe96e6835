import StreamKitEngine

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Wire layout of a batch of entries: a count, then per entry a flags byte, the fields that changed since the
/// previous entry, zig-zag deltas of the numbers, and the payload.
///
/// Entries of one batch mostly share their space, segment and transaction, and their numbers grow by small
/// steps, so an entry costs a few bytes plus its payload. Deltas use wrapping arithmetic, so any input
/// decodes to some value without overflow.
enum EntryBatchCodec {
    enum Flag {
        static let endsTransaction: UInt8 = 0x01
        static let space: UInt8 = 0x02
        static let segment: UInt8 = 0x04
        static let transactionID: UInt8 = 0x08
        static let metadata: UInt8 = 0x10
        static let all: UInt8 = 0x1F
        static let firstEntry: UInt8 = space | segment | transactionID
    }

    static func encode(_ entries: [Entry], into buffer: inout WireBuffer, limits: WireLimits) throws(WireError) {
        try buffer.writeCount(entries.count, "entries in a batch", limit: limits.maxBatchCount)
        guard let first = entries.first else { return }
        var space = first.space
        var segment = first.segment
        var transactionID = first.transactionID
        var position: UInt64 = 0
        var sequence: UInt64 = 0
        var timestamp: Int64 = 0
        var transactionNumber: UInt64 = 0
        for (index, entry) in entries.enumerated() {
            var flags: UInt8 = entry.endsTransaction ? Flag.endsTransaction : 0
            if index == 0 {
                flags |= Flag.firstEntry
            } else {
                if entry.space != space { flags |= Flag.space }
                if entry.segment != segment { flags |= Flag.segment }
                if entry.transactionID != transactionID { flags |= Flag.transactionID }
            }
            if !entry.metadata.isEmpty { flags |= Flag.metadata }
            buffer.writeByte(flags)
            if flags & Flag.space != 0 {
                try buffer.writeString(entry.space, limit: limits.maxStringBytes)
                space = entry.space
            }
            if flags & Flag.segment != 0 {
                try buffer.writeString(entry.segment, limit: limits.maxStringBytes)
                segment = entry.segment
            }
            let payloadCount = entry.payload.count
            buffer.reserve(16 &+ 50 &+ payloadCount)
            if flags & Flag.transactionID != 0 {
                buffer.putUUID(entry.transactionID)
                transactionID = entry.transactionID
            }
            buffer.putVarint(ZigZag.encode(Int64(bitPattern: entry.position &- position)))
            buffer.putVarint(ZigZag.encode(Int64(bitPattern: entry.sequence &- sequence)))
            buffer.putVarint(ZigZag.encode(entry.timestamp &- timestamp))
            buffer.putVarint(ZigZag.encode(Int64(bitPattern: entry.transactionNumber &- transactionNumber)))
            position = entry.position
            sequence = entry.sequence
            timestamp = entry.timestamp
            transactionNumber = entry.transactionNumber
            buffer.putVarint(UInt64(payloadCount))
            entry.payload.withUnsafeBytes { buffer.putRaw($0) }
            if flags & Flag.metadata != 0 { try buffer.writeMetadata(entry.metadata, limits: limits) }
        }
    }

    // MARK: - Sizes

    /// Most bytes one entry takes in a batch, wherever it stands: its space and segment written, every number at
    /// its widest (10-byte varints), the payload and the metadata exactly. The sum over a batch's entries plus
    /// ``maxCountBytes(_:)`` bounds the batch's encoding. O(1) without metadata, no allocation.
    @inline(__always)
    static func maxEncodedBytes(_ entry: Entry) -> Int {
        maxEncodedBytes(
            spaceBytes: entry.space.utf8.count, segmentBytes: entry.segment.utf8.count,
            payloadBytes: entry.payload.count, metadata: entry.metadata)
    }

    /// ``maxEncodedBytes(_:)`` of the entry a record will become in `space` and `segment`, before it is committed.
    @inline(__always)
    static func maxEncodedBytes(
        spaceBytes: Int, segmentBytes: Int, payloadBytes: Int, metadata: [String: String]
    )
        -> Int
    {
        // Flags, transaction id, and position, sequence, timestamp and transaction number at 10 bytes each.
        var bytes = 1 &+ 16 &+ 40
        bytes &+= FrameHeader.varintSize(UInt64(spaceBytes)) &+ spaceBytes
        bytes &+= FrameHeader.varintSize(UInt64(segmentBytes)) &+ segmentBytes
        bytes &+= FrameHeader.varintSize(UInt64(payloadBytes)) &+ payloadBytes
        if !metadata.isEmpty { bytes &+= metadataBytes(metadata) }
        return bytes
    }

    /// Exact bytes of a batch that holds `entry` alone (count included).
    static func encodedBytes(alone entry: Entry) -> Int {
        var bytes = 1 &+ 1 &+ 16  // Count, flags, transaction id.
        let space = entry.space.utf8.count
        let segment = entry.segment.utf8.count
        bytes &+= FrameHeader.varintSize(UInt64(space)) &+ space
        bytes &+= FrameHeader.varintSize(UInt64(segment)) &+ segment
        bytes &+= FrameHeader.varintSize(ZigZag.encode(Int64(bitPattern: entry.position)))
        bytes &+= FrameHeader.varintSize(ZigZag.encode(Int64(bitPattern: entry.sequence)))
        bytes &+= FrameHeader.varintSize(ZigZag.encode(entry.timestamp))
        bytes &+= FrameHeader.varintSize(ZigZag.encode(Int64(bitPattern: entry.transactionNumber)))
        bytes &+= FrameHeader.varintSize(UInt64(entry.payload.count)) &+ entry.payload.count
        if !entry.metadata.isEmpty { bytes &+= metadataBytes(entry.metadata) }
        return bytes
    }

    /// Bytes of a batch's count of `count` entries.
    @inline(__always)
    static func maxCountBytes(_ count: Int) -> Int { FrameHeader.varintSize(UInt64(max(0, count))) }

    /// Exact bytes of a metadata map as written: the pair count, then each key and value with its length.
    private static func metadataBytes(_ metadata: [String: String]) -> Int {
        var bytes = FrameHeader.varintSize(UInt64(metadata.count))
        for (key, value) in metadata {
            let k = key.utf8.count
            let v = value.utf8.count
            bytes &+= FrameHeader.varintSize(UInt64(k)) &+ k &+ FrameHeader.varintSize(UInt64(v)) &+ v
        }
        return bytes
    }

    static func decode(from reader: inout WireReader) throws(WireError) -> [Entry] {
        // Smallest entry after the first: flags, four deltas and a payload length, one byte each.
        let count = try reader.count("entries in a batch", limit: reader.limits.maxBatchCount, minimumBytes: 6)
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        var space = ""
        var segment = ""
        var transactionID = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        var position: UInt64 = 0
        var sequence: UInt64 = 0
        var timestamp: Int64 = 0
        var transactionNumber: UInt64 = 0
        for index in 0..<count {
            let flagsOffset = reader.position
            let flags = try reader.byte("entry flags")
            guard flags & ~Flag.all == 0 else {
                throw .malformed(at: flagsOffset, "unknown entry flag bits \(flags & ~Flag.all)")
            }
            if index == 0 && flags & Flag.firstEntry != Flag.firstEntry {
                throw .malformed(
                    at: flagsOffset, "the first entry of a batch must carry space, segment and transaction id")
            }
            if flags & Flag.space != 0 { space = try reader.string("a space name") }
            if flags & Flag.segment != 0 { segment = try reader.string("a segment name") }
            if flags & Flag.transactionID != 0 { transactionID = try reader.uuid() }
            position = position &+ UInt64(bitPattern: try reader.zigZag())
            sequence = sequence &+ UInt64(bitPattern: try reader.zigZag())
            timestamp = timestamp &+ (try reader.zigZag())
            transactionNumber = transactionNumber &+ UInt64(bitPattern: try reader.zigZag())
            let payload = try reader.byteArray(limit: Int.max)
            let metadata = flags & Flag.metadata != 0 ? try reader.metadata() : [:]
            entries.append(
                Entry(
                    position: position, space: space, segment: segment, sequence: sequence, timestamp: timestamp,
                    transactionID: transactionID, transactionNumber: transactionNumber,
                    endsTransaction: flags & Flag.endsTransaction != 0, payload: Payload(payload),
                    metadata: metadata))
        }
        return entries
    }
}
