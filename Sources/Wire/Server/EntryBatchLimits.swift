import StreamKitEngine

/// How the server cuts a read's entries into `entries` messages, and the check that keeps every record it
/// accepts readable: an entry that could not go out in one message, even alone, is refused when it is written.
///
/// A batch holds at most ``maxCount`` entries and is cut before the entry that would take it over ``maxBytes``
/// (an entry larger than that goes alone); nothing is ever over ``messageBytes``, the most one message can carry
/// (`MuxLimits.maxDataMessageBytes`).
struct EntryBatchLimits: Sendable {
    /// Most entries per message.
    let maxCount: Int
    /// Bytes of entries after which a batch is cut (with the batch's count, at most ``messageBytes``).
    let maxBytes: Int
    /// Most bytes of an `entries` message body: what one message can carry.
    let messageBytes: Int

    /// - Parameters:
    ///   - entriesPerBatch: Most entries per message (at most the codec's `maxBatchCount`).
    ///   - batchBytes: Bytes after which a batch is cut.
    ///   - limits: The connection's limits, which bound every message.
    init(entriesPerBatch: Int, batchBytes: Int, limits: MuxLimits) {
        maxCount = max(1, min(entriesPerBatch, limits.wire.maxBatchCount))
        messageBytes = limits.maxDataMessageBytes
        maxBytes = max(1, min(batchBytes, messageBytes - EntryBatchCodec.maxCountBytes(maxCount)))
    }

    /// Most bytes of one entry's encoding that a message can carry alone (its batch count aside).
    var maxEntryBytes: Int { messageBytes - EntryBatchCodec.maxCountBytes(1) }

    /// Refuses a record whose entry could not be read back in one message.
    ///
    /// The bound counts the entry's numbers at their widest, so a record that passes always reads back. A few
    /// additions per record (and a pass over its metadata, if any); nothing is allocated unless it is refused.
    /// - Throws: `limitExceeded` (limit and value in bytes) naming the record's sequence.
    @inline(__always)
    func checkReadable(_ record: Record, space: String, segment: String) throws(StreamKitError) {
        let bytes = EntryBatchCodec.maxEncodedBytes(
            spaceBytes: space.utf8.count, segmentBytes: segment.utf8.count, payloadBytes: record.payload.count,
            metadata: record.metadata)
        if bytes > maxEntryBytes { throw unreadable("record \(record.sequence)", bytes, space, segment) }
    }

    /// ``checkReadable(_:space:segment:)`` for a publish's payload and metadata.
    func checkReadable(
        payloadBytes: Int, metadata: [String: String], space: String, segment: String
    ) throws(StreamKitError) {
        let bytes = EntryBatchCodec.maxEncodedBytes(
            spaceBytes: space.utf8.count, segmentBytes: segment.utf8.count, payloadBytes: payloadBytes,
            metadata: metadata)
        if bytes > maxEntryBytes { throw unreadable("the record", bytes, space, segment) }
    }

    private func unreadable(_ what: String, _ bytes: Int, _ space: String, _ segment: String) -> StreamKitError {
        StreamKitError(
            code: .limitExceeded,
            message: "\(what) of \(space)/\(segment) would take up to \(bytes) bytes in a read message, over the "
                + "\(maxEntryBytes) one message carries: make its payload or metadata smaller",
            limit: maxEntryBytes, value: bytes)
    }

    /// Refuses an entry too large to be sent in one message even alone (it was written by other means than this
    /// server's produce, or under other limits).
    /// - Throws: `limitExceeded` naming the entry's position.
    func checkSendable(_ entry: Entry) throws(StreamKitError) {
        guard EntryBatchCodec.maxEncodedBytes(entry) > maxEntryBytes else { return }  // The common case.
        let bytes = EntryBatchCodec.encodedBytes(alone: entry)
        guard bytes > messageBytes else { return }
        throw StreamKitError(
            code: .limitExceeded,
            message: "the entry at position \(entry.position) (\(entry.space)/\(entry.segment) sequence "
                + "\(entry.sequence)) takes \(bytes) bytes, over the \(messageBytes) one message carries",
            limit: messageBytes, value: bytes)
    }
}
