/// Reading one block from a file: one `pread` of the stored bytes, CRC check, decompression, framing check.
enum BlockReading {
    /// Buffers reused across blocks by one reading loop.
    final class Buffers {
        let stored = RawBuffer(capacity: 64 << 10)
        var materializer = EntryMaterializer()
    }

    /// Calls `body` with each entry of the block from `position` on, until it returns false; returns false
    /// when `body` stopped early. Entries share one decompressed array (no copy per payload).
    static func forEach(
        _ header: BlockHeader, file: any StorageFile, offset: Int64, from position: UInt64, buffers: Buffers,
        _ body: (Entry) throws -> Bool
    ) throws -> Bool {
        let stored = buffers.stored
        stored.count = 0
        stored.reserve(header.storedLength)
        stored.count = try file.read(
            into: UnsafeMutableRawBufferPointer(start: stored.base, count: header.storedLength),
            at: offset + Int64(BlockHeader.size))
        let raw: [UInt8]
        switch BlockCodec.decode(header, stored: stored.bytes) {
        case .success(let array): raw = array
        case .failure(let problem): throw LogFilesError.corrupt(problem.reason, path: file.path, offset: offset)
        }
        return try raw.withUnsafeBytes { bytes in
            let base = bytes.baseAddress!
            var o = 0
            var current = header.firstPosition
            while o < bytes.count {
                let view = RecordView(base: base + o)
                if current >= position {
                    guard try body(buffers.materializer.entry(view, position: current, in: raw, base: base)) else { return false }
                }
                o += view.size
                current += 1
            }
            return true
        }
    }

    /// Reads the whole block into entries.
    static func read(_ header: BlockHeader, file: any StorageFile, offset: Int64) throws -> [Entry] {
        var entries: [Entry] = []
        entries.reserveCapacity(header.entryCount)
        _ = try forEach(header, file: file, offset: offset, from: 0, buffers: Buffers()) { entry in
            entries.append(entry)
            return true
        }
        return entries
    }
}
