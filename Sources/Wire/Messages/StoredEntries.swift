import StreamKitEngine
public import StreamKitLogFiles

/// A stretch of a read as the sealed block of the file log it lies in, sent as stored (LZ4 and checksummed, never
/// decompressed and encoded again by the server): the entries at indices `range` of the block are the read's next
/// ones, all of them. The receiver checks and decodes the block (``entries()``).
///
/// Sent only to clients that listed the ``feature`` in their hello; others get ``WireMessage/entries(_:)``.
public struct StoredEntries: Hashable, Sendable {
    /// The feature name a client lists to receive stored blocks.
    public static let feature = "stored-blocks"

    package var block: StoredBlock
    package var range: Range<Int>

    package init(block: StoredBlock, range: Range<Int>) {
        self.block = block
        self.range = range
    }

    /// Most bytes of the body before the stored bytes (a codec byte and nine varints).
    static let maxHeaderBytes = 1 + 9 * 10

    /// Number of entries carried.
    public var count: Int { range.count }

    /// Checks the block (checksum, decompression, record framing, count, timestamps) and decodes the entries.
    /// - Throws: `StreamKitError` `.corrupt` when the block fails a check.
    public func entries() throws -> [Entry] {
        do {
            return try block.entries(range)
        } catch {
            throw StreamKitError(code: .corrupt, message: "a stored block from the server: \(error)")
        }
    }
}

extension StoredEntries {
    /// Body layout: codec (byte), raw length, stored length, checksum, entry count, first position (varints),
    /// minimum and maximum timestamp (zig-zag varints), first index and count of the entries carried (varints),
    /// then the stored bytes (`stored length` of them).
    func encode(into buffer: inout WireBuffer) {
        let header = block.header
        buffer.reserve(80 &+ block.body.count)
        buffer.putByte(header.codec.rawValue)
        buffer.putVarint(UInt64(header.rawLength))
        buffer.putVarint(UInt64(header.storedLength))
        buffer.putVarint(UInt64(header.checksum))
        buffer.putVarint(UInt64(header.entryCount))
        buffer.putVarint(header.firstPosition)
        buffer.putVarint(ZigZag.encode(header.minTimestamp))
        buffer.putVarint(ZigZag.encode(header.maxTimestamp))
        buffer.putVarint(UInt64(range.lowerBound))
        buffer.putVarint(UInt64(range.count))
        block.body.withUnsafeBytes { buffer.putRaw($0) }
    }

    /// Decodes the body, checking every field's range (the block's contents are checked by ``entries()``).
    static func decode(from reader: inout WireReader) throws(WireError) -> StoredEntries {
        let start = reader.position
        guard let codec = BlockHeader.Codec(rawValue: try reader.byte("a block codec")) else {
            throw .malformed(at: start, "unknown block codec")
        }
        let limit = UInt64(reader.limits.maxMessageBytes)
        let rawValue = try reader.varint()
        let storedValue = try reader.varint()
        let checksum = try reader.varint()
        let countValue = try reader.varint()
        let firstPosition = try reader.varint()
        let minTimestamp = try reader.zigZag()
        let maxTimestamp = try reader.zigZag()
        let firstValue = try reader.varint()
        let takenValue = try reader.varint()
        guard rawValue <= UInt64(Int32.max), storedValue <= limit, countValue <= limit, firstValue <= limit,
            takenValue <= limit
        else { throw .malformed(at: start, "a stored block's lengths are over the limits") }
        let (rawLength, storedLength, entryCount) = (Int(rawValue), Int(storedValue), Int(countValue))
        let (first, count) = (Int(firstValue), Int(takenValue))
        // LZ4 makes at most 255 raw bytes of one stored byte: a larger raw length is not worth allocating for.
        let reachable = codec == .raw ? rawLength == storedLength : rawLength / 255 <= storedLength
        guard reachable, checksum <= UInt64(UInt32.max), entryCount > 0,
            entryCount <= rawLength / 56, firstPosition > 0, firstPosition <= UInt64.max - UInt64(entryCount),
            count > 0, first < entryCount, count <= entryCount - first
        else { throw .malformed(at: start, "a stored block's header is out of range") }
        guard storedLength == reader.remaining else {
            throw .malformed(at: start, "a stored block of \(storedLength) bytes in \(reader.remaining)")
        }
        let body = Array(reader.take(storedLength))
        let header = BlockHeader(
            codec: codec, rawLength: rawLength, storedLength: storedLength, checksum: UInt32(checksum),
            entryCount: entryCount, firstPosition: firstPosition, minTimestamp: minTimestamp, maxTimestamp: maxTimestamp
        )
        return StoredEntries(block: StoredBlock(header: header, body: body), range: first..<(first + count))
    }
}
