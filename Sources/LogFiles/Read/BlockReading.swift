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
        // A local copy: no exclusivity check on the class's property per entry.
        var materializer = buffers.materializer
        defer { buffers.materializer = materializer }
        return try raw.withUnsafeBytes { bytes in
            let base = bytes.baseAddress!
            var o = 0
            var current = header.firstPosition
            while o < bytes.count {
                let view = RecordView(base: base + o)
                if current >= position {
                    guard try body(materializer.entry(view, position: current, in: raw, base: base)) else {
                        return false
                    }
                }
                o += view.size
                current += 1
            }
            return true
        }
    }

    /// Re-reads a block from its file and checks it as a reader would, without building entries: the header
    /// on disk must be the one indexed when the log was opened, the stored bytes must pass their CRC, decompress
    /// to their raw length and hold well-framed records. Returns the bytes read (header and body).
    /// - Throws: `LogFilesError` — `.corrupt` with the file and the block's offset, `.io` on a failed read.
    static func verify(_ header: BlockHeader, file: any StorageFile, offset: Int64, buffers: Buffers) throws -> Int {
        let total = BlockHeader.size + header.storedLength
        let stored = buffers.stored
        stored.count = 0
        stored.reserve(total)
        stored.count = try file.read(into: UnsafeMutableRawBufferPointer(start: stored.base, count: total), at: offset)
        guard stored.count == total else {
            throw LogFilesError.corrupt("block truncated", path: file.path, offset: offset)
        }
        switch BlockHeader.decode(stored.base) {
        case .failure(let problem):
            throw LogFilesError.corrupt(problem.description, path: file.path, offset: offset)
        case .success(let onDisk) where onDisk != header:
            throw LogFilesError.corrupt(
                "block header differs from the one indexed at open", path: file.path, offset: offset)
        case .success:
            break
        }
        let body = UnsafeRawBufferPointer(start: stored.base + BlockHeader.size, count: header.storedLength)
        if case .failure(let problem) = BlockCodec.decode(header, stored: body) {
            throw LogFilesError.corrupt(problem.reason, path: file.path, offset: offset)
        }
        return total
    }

    /// Reads the whole block into entries.
    static func read(
        _ header: BlockHeader, file: any StorageFile, offset: Int64, buffers: Buffers = Buffers()
    ) throws -> [Entry] {
        var entries: [Entry] = []
        entries.reserveCapacity(header.entryCount)
        _ = try forEach(header, file: file, offset: offset, from: 0, buffers: buffers) { entry in
            entries.append(entry)
            return true
        }
        return entries
    }
}
