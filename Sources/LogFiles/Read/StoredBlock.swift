/// A sealed block as it lies in its log file: its header and its stored bytes (LZ4 or raw, checksummed), for a
/// reader elsewhere — a client at the other end of a connection — that checks and decodes it itself, so the
/// block is never decompressed and encoded again on the way.
package struct StoredBlock: Sendable, Hashable {
    /// The block's header (codec, lengths, checksum, entry count, first position, timestamp range).
    package var header: BlockHeader
    /// The stored bytes: `header.storedLength` of them.
    package var body: [UInt8]

    package init(header: BlockHeader, body: [UInt8]) {
        self.header = header
        self.body = body
    }

    /// Checks the block (length, CRC32C, decompression to the raw length, record framing, count and timestamp
    /// range) and decodes the entries at indices `range` of the block; their payloads share one decompressed
    /// array.
    /// - Throws: `LogFilesError` `.corrupt` naming the first check that failed, `.invalidArgument` for a range
    ///   outside the block.
    package func entries(_ range: Range<Int>) throws -> [Entry] {
        guard range.lowerBound >= 0, range.upperBound <= header.entryCount else {
            throw LogFilesError.invalidArgument("entries \(range) outside a block of \(header.entryCount)")
        }
        let raw: [UInt8]
        switch body.withUnsafeBytes({ BlockCodec.decode(header, stored: $0) }) {
        case .success(let array): raw = array
        case .failure(let problem): throw LogFilesError(code: .corrupt, message: problem.reason)
        }
        var entries: [Entry] = []
        entries.reserveCapacity(range.count)
        var materializer = EntryMaterializer()
        raw.withUnsafeBytes { bytes in
            let base = bytes.baseAddress!
            var o = 0
            var i = 0
            while o < bytes.count, i < range.upperBound {
                let view = RecordView(base: base + o)
                if i >= range.lowerBound {
                    entries.append(
                        materializer.entry(view, position: header.firstPosition + UInt64(i), in: raw, base: base))
                }
                o += view.size
                i += 1
            }
        }
        return entries
    }
}
