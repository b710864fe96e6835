#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The binary layout of one entry record, shared by log blocks and WAL frames (see docs/format.md).
///
/// ```
/// off size field
///   0   4  length of the rest of the record (record size - 4)
///   4   1  flags (bit 0: last entry of its transaction; bit 1: erased, see ``RecordCodec/encodeErased(at:timestamp:endsTransaction:)``)
///   5   1  reserved, 0
///   6   2  space length (bytes, UTF-8)
///   8   2  segment length
///  10   2  metadata pair count
///  12   4  payload length
///  16   8  sequence
///  24   8  timestamp (Int64 ns since the Unix epoch)
///  32   8  transaction number
///  40  16  transaction id (UUID bytes)
///  56   …  space, segment, payload, then per metadata pair: u16 key length, u32 value length, key, value
/// ```
enum RecordCodec {
    static let fixedSize = 56
    static let flagEndsTransaction: UInt8 = 1
    /// An erased record: compaction removed a deleted entry, keeping only its place (position) and timestamp.
    static let flagErased: UInt8 = 2

    /// Writes an erased record at `p` (`fixedSize` bytes): no names, payload, metadata, sequence, transaction
    /// number or id; the timestamp of the entry it replaces (so the block's time order and range hold) and
    /// its end-of-transaction flag. Readers never hand it out: it only keeps the positions after it in place.
    static func encodeErased(at p: UnsafeMutableRawPointer, timestamp: Int64, endsTransaction: Bool) {
        p.initializeMemory(as: UInt8.self, repeating: 0, count: fixedSize)
        p.storeLE(UInt32(fixedSize - 4), at: 0)
        p.storeBytes(of: flagErased | (endsTransaction ? flagEndsTransaction : 0), toByteOffset: 4, as: UInt8.self)
        p.storeLE(timestamp, at: 24)
    }

    /// Limits imposed by the field widths.
    static let maxNameBytes = Int(UInt16.max)
    static let maxMetadataPairs = Int(UInt16.max)
    static let maxPayloadBytes = Int(UInt32.max) - 1024

    /// Encoded size of a record, or an error for a field that does not fit its width.
    @inline(__always)
    static func encodedSize(nameBytes: Int, record: Record) throws -> Int {
        var size = fixedSize + nameBytes + record.payload.count
        if !record.metadata.isEmpty {
            if record.metadata.count > maxMetadataPairs {
                throw LogFilesError.invalidArgument(
                    "more than \(maxMetadataPairs) metadata pairs", limit: maxMetadataPairs)
            }
            for (key, value) in record.metadata {
                let k = key.utf8.count
                let v = value.utf8.count
                if k > maxNameBytes {
                    throw LogFilesError.invalidArgument("metadata key over \(maxNameBytes) bytes", limit: maxNameBytes)
                }
                size += 6 + k + v
            }
        }
        if size - 4 > Int(UInt32.max) {
            throw LogFilesError.invalidArgument("record too large", limit: Int(UInt32.max))
        }
        return size
    }

    /// Encodes one record at `p` (which must have `size` bytes of room) and returns `size`.
    @inline(__always)
    static func encode(
        _ record: Record, size: Int, at p: UnsafeMutableRawPointer, space: UnsafeRawBufferPointer,
        segment: UnsafeRawBufferPointer, timestamp: Int64, transactionNumber: UInt64, transactionID: uuid_t,
        endsTransaction: Bool
    ) {
        p.storeLE(UInt32(size - 4), at: 0)
        p.storeBytes(of: endsTransaction ? flagEndsTransaction : 0, toByteOffset: 4, as: UInt8.self)
        p.storeBytes(of: 0, toByteOffset: 5, as: UInt8.self)
        p.storeLE(UInt16(space.count), at: 6)
        p.storeLE(UInt16(segment.count), at: 8)
        p.storeLE(UInt16(record.metadata.count), at: 10)
        p.storeLE(UInt32(record.payload.count), at: 12)
        p.storeLE(record.sequence, at: 16)
        p.storeLE(timestamp, at: 24)
        p.storeLE(transactionNumber, at: 32)
        p.storeBytes(of: transactionID, toByteOffset: 40, as: uuid_t.self)
        var o = fixedSize
        if space.count > 0 { (p + o).copyMemory(from: space.baseAddress!, byteCount: space.count) }
        o += space.count
        if segment.count > 0 { (p + o).copyMemory(from: segment.baseAddress!, byteCount: segment.count) }
        o += segment.count
        let payloadCount = record.payload.count
        if payloadCount > 0 {
            record.payload.withUnsafeBytes { (p + o).copyMemory(from: $0.baseAddress!, byteCount: payloadCount) }
        }
        o += payloadCount
        if !record.metadata.isEmpty {
            for (key, value) in record.metadata {
                var key = key
                var value = value
                key.withUTF8 { k in
                    value.withUTF8 { v in
                        p.storeLE(UInt16(k.count), at: o)
                        p.storeLE(UInt32(v.count), at: o + 2)
                        o += 6
                        if k.count > 0 { (p + o).copyMemory(from: k.baseAddress!, byteCount: k.count) }
                        o += k.count
                        if v.count > 0 { (p + o).copyMemory(from: v.baseAddress!, byteCount: v.count) }
                        o += v.count
                    }
                }
            }
        }
    }

    /// Checks the record at `p` (with `available` bytes from `p` to the end of its container) and returns its
    /// total size, or `nil` if its framing is inconsistent.
    @inline(__always)
    static func validatedSize(at p: UnsafeRawPointer, available: Int) -> Int? {
        guard available >= fixedSize else { return nil }
        let size = Int(p.le(0, as: UInt32.self)) + 4
        guard size >= fixedSize, size <= available else { return nil }
        let names = Int(p.le(6, as: UInt16.self)) + Int(p.le(8, as: UInt16.self))
        let payload = Int(p.le(12, as: UInt32.self))
        var o = fixedSize + names + payload
        guard o <= size else { return nil }
        let pairs = Int(p.le(10, as: UInt16.self))
        for _ in 0..<pairs {
            guard o + 6 <= size else { return nil }
            o += 6 + Int(p.le(o, as: UInt16.self)) + Int(p.le(o + 2, as: UInt32.self))
            guard o <= size else { return nil }
        }
        return o == size ? size : nil
    }
}

/// A zero-copy view of one encoded record (valid while its buffer lives).
struct RecordView {
    let base: UnsafeRawPointer

    @inline(__always) var size: Int { Int(base.le(0, as: UInt32.self)) + 4 }
    @inline(__always) var flags: UInt8 { base.load(fromByteOffset: 4, as: UInt8.self) }
    @inline(__always) var endsTransaction: Bool { flags & RecordCodec.flagEndsTransaction != 0 }
    /// Whether compaction erased the entry this record stood for (it has no names: readers skip it).
    @inline(__always) var isErased: Bool { flags & RecordCodec.flagErased != 0 }
    @inline(__always) var spaceCount: Int { Int(base.le(6, as: UInt16.self)) }
    @inline(__always) var segmentCount: Int { Int(base.le(8, as: UInt16.self)) }
    @inline(__always) var metadataCount: Int { Int(base.le(10, as: UInt16.self)) }
    @inline(__always) var payloadCount: Int { Int(base.le(12, as: UInt32.self)) }
    @inline(__always) var sequence: UInt64 { base.le(16) }
    @inline(__always) var timestamp: Int64 { base.le(24) }
    @inline(__always) var transactionNumber: UInt64 { base.le(32) }
    @inline(__always) var transactionID: UUID {
        UUID(uuid: base.loadUnaligned(fromByteOffset: 40, as: uuid_t.self))
    }
    @inline(__always) var space: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + RecordCodec.fixedSize, count: spaceCount)
    }
    @inline(__always) var segment: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + RecordCodec.fixedSize + spaceCount, count: segmentCount)
    }
    @inline(__always) var payload: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + RecordCodec.fixedSize + spaceCount + segmentCount, count: payloadCount)
    }

    /// Decodes the metadata pairs.
    @inline(__always)
    func metadata() -> [String: String] {
        let pairs = metadataCount
        guard pairs > 0 else { return [String: String]() }
        return decodeMetadata(pairs)
    }

    private func decodeMetadata(_ pairs: Int) -> [String: String] {
        var result = [String: String](minimumCapacity: pairs)
        var o = RecordCodec.fixedSize + spaceCount + segmentCount + payloadCount
        for _ in 0..<pairs {
            let k = Int(base.le(o, as: UInt16.self))
            let v = Int(base.le(o + 2, as: UInt32.self))
            o += 6
            let key = String(decoding: UnsafeRawBufferPointer(start: base + o, count: k), as: UTF8.self)
            o += k
            let value = String(decoding: UnsafeRawBufferPointer(start: base + o, count: v), as: UTF8.self)
            o += v
            result[key] = value
        }
        return result
    }
}

/// Turns record views into `Entry` values, reusing the `String`s of repeated space and segment names so a
/// block of one segment costs no name allocations, and the `UUID` of the transaction the previous record
/// belonged to.
struct EntryMaterializer {
    private var lastSpaceBytes: [UInt8] = []
    private var lastSpace = ""
    private var lastSegmentBytes: [UInt8] = []
    private var lastSegment = ""
    private var lastIDLow: UInt64 = 0
    private var lastIDHigh: UInt64 = 0
    private var lastID = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

    /// The record's transaction id (the previous record's `UUID` when the bytes are the same).
    @inline(__always)
    private mutating func transactionID(_ view: RecordView) -> UUID {
        let low = view.base.loadUnaligned(fromByteOffset: 40, as: UInt64.self)
        let high = view.base.loadUnaligned(fromByteOffset: 48, as: UInt64.self)
        if low != lastIDLow || high != lastIDHigh {
            lastIDLow = low
            lastIDHigh = high
            lastID = view.transactionID
        }
        return lastID
    }

    @inline(__always)
    private static func intern(
        _ bytes: UnsafeRawBufferPointer, _ cacheBytes: inout [UInt8], _ cache: inout String
    ) -> String {
        if bytes.count == cacheBytes.count,
            bytes.count == 0
                || cacheBytes.withUnsafeBytes({ memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0 })
        {
            return cache
        }
        cacheBytes = Array(bytes)
        cache = String(decoding: bytes, as: UTF8.self)
        return cache
    }

    /// An entry whose payload is copied out of the record.
    mutating func entry(_ view: RecordView, position: UInt64) -> Entry {
        entry(view, position: position, payload: Payload(Array(view.payload)))
    }

    /// An entry whose payload shares `storage`, the array the record lives in (no copy).
    mutating func entry(_ view: RecordView, position: UInt64, in storage: [UInt8], base: UnsafeRawPointer) -> Entry {
        let start = view.payload.baseAddress.map { $0 - base } ?? 0
        return entry(
            view, position: position, payload: Payload(storage: storage, range: start..<(start + view.payloadCount)))
    }

    private mutating func entry(_ view: RecordView, position: UInt64, payload: Payload) -> Entry {
        Entry(
            position: position,
            space: Self.intern(view.space, &lastSpaceBytes, &lastSpace),
            segment: Self.intern(view.segment, &lastSegmentBytes, &lastSegment),
            sequence: view.sequence,
            timestamp: view.timestamp,
            transactionID: transactionID(view),
            transactionNumber: view.transactionNumber,
            endsTransaction: view.endsTransaction,
            payload: payload,
            metadata: view.metadata()
        )
    }
}
