/// Turns a run of encoded records into a stored block and back.
enum BlockCodec {
    /// Compresses `records` (raw, record-aligned) into `out` as header + stored bytes and returns the header.
    /// `out` is cleared first and reused across calls.
    static func seal(
        records: UnsafeRawBufferPointer, entryCount: Int, firstPosition: UInt64, minTimestamp: Int64,
        maxTimestamp: Int64, compress: Bool, into out: RawBuffer
    ) -> BlockHeader {
        out.count = 0
        let bound = LZ4.bound(records.count)
        out.reserve(BlockHeader.size + max(bound, records.count))
        let body = UnsafeMutableRawBufferPointer(
            start: out.base + BlockHeader.size, count: out.capacity - BlockHeader.size)
        var stored = compress ? LZ4.compress(records, into: body) : 0
        var codec = BlockHeader.Codec.lz4
        if stored <= 0 || stored >= records.count {
            codec = .raw
            stored = records.count
            if stored > 0 { body.baseAddress!.copyMemory(from: records.baseAddress!, byteCount: stored) }
        }
        let header = BlockHeader(
            codec: codec, rawLength: records.count, storedLength: stored,
            checksum: CRC32C.checksum(UnsafeRawBufferPointer(start: body.baseAddress!, count: stored)),
            entryCount: entryCount, firstPosition: firstPosition, minTimestamp: minTimestamp, maxTimestamp: maxTimestamp
        )
        header.encode(into: out.base)
        out.count = BlockHeader.size + stored
        return header
    }

    /// Checks the stored bytes' CRC and decompresses them into a new array (shared by the block's entries),
    /// checking the record framing; returns the array or the problem.
    static func decode(_ header: BlockHeader, stored: UnsafeRawBufferPointer) -> Result<[UInt8], BlockProblem> {
        var problem: BlockProblem?
        let raw = [UInt8](unsafeUninitializedCapacity: header.rawLength) { buffer, initialized in
            (initialized, problem) = decode(header, stored: stored, into: UnsafeMutableRawBufferPointer(buffer))
        }
        if let problem { return .failure(problem) }
        return .success(raw)
    }

    /// As ``decode(_:stored:)``, into `out` (reused: its count is the raw length afterwards, 0 on a problem).
    static func decode(_ header: BlockHeader, stored: UnsafeRawBufferPointer, into out: RawBuffer) -> BlockProblem? {
        out.count = 0
        out.reserve(header.rawLength)
        let (count, problem) = decode(
            header, stored: stored, into: UnsafeMutableRawBufferPointer(start: out.base, count: header.rawLength))
        out.count = count
        return problem
    }

    /// Checks, decompresses into `buffer` (`header.rawLength` bytes) and checks the records; returns the bytes
    /// written (0 on a problem) and the problem.
    private static func decode(
        _ header: BlockHeader, stored: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawBufferPointer
    )
        -> (Int, BlockProblem?)
    {
        guard stored.count == header.storedLength else { return (0, BlockProblem("block truncated")) }
        guard CRC32C.checksum(stored) == header.checksum else { return (0, BlockProblem("block checksum mismatch")) }
        let count: Int
        switch header.codec {
        case .raw:
            guard stored.count == header.rawLength else {
                return (0, BlockProblem("block does not decompress to its raw length"))
            }
            if stored.count > 0 { buffer.copyMemory(from: stored) }
            count = stored.count
        case .lz4:
            count = LZ4.decompress(stored, into: buffer)
            guard count == header.rawLength else {
                return (0, BlockProblem("block does not decompress to its raw length"))
            }
        }
        if let problem = checkRecords(UnsafeRawBufferPointer(rebasing: buffer[..<count]), header: header) {
            return (0, BlockProblem(problem))
        }
        return (count, nil)
    }

    /// Verifies framing, count and timestamp bounds of a block's raw records.
    static func checkRecords(_ bytes: UnsafeRawBufferPointer, header: BlockHeader) -> String? {
        guard let base = bytes.baseAddress else { return "empty block" }
        var o = 0
        var n = 0
        var previous = Int64.min
        while o < bytes.count {
            guard let size = RecordCodec.validatedSize(at: base + o, available: bytes.count - o) else {
                return "record \(n) is badly framed"
            }
            let ts = RecordView(base: base + o).timestamp
            guard ts >= header.minTimestamp, ts <= header.maxTimestamp, ts >= previous else {
                return "record \(n) timestamp out of order or outside the block's range"
            }
            previous = ts
            o += size
            n += 1
        }
        return n == header.entryCount ? nil : "block holds \(n) records, header says \(header.entryCount)"
    }

    /// Calls `body` with each record of an opened block and its position.
    @inline(__always)
    static func forEachRecord(
        _ bytes: UnsafeRawBufferPointer, firstPosition: UInt64, _ body: (RecordView, UInt64) throws -> Void
    ) rethrows {
        guard let base = bytes.baseAddress else { return }
        var o = 0
        var position = firstPosition
        while o < bytes.count {
            let view = RecordView(base: base + o)
            try body(view, position)
            o += view.size
            position += 1
        }
    }
}

/// Why a block failed its checks.
struct BlockProblem: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}
