/// Encoding of the block-index sidecar (`.idx`) records: one per sealed block, appended after the block.
///
/// ```
/// record: u32 body length, u32 CRC32C of the body, body
/// body:   u64 block offset in the log file, 64-byte copy of the block header, u32 run count, runs
/// run:    u16 space length, u16 segment length, u32 count, u64 first sequence, u64 last sequence,
///         i64 first timestamp, i64 last timestamp, u64 last transaction number, u8 flags (bit 0: ends a
///         transaction), 3 reserved bytes, then the space and segment bytes
/// ```
enum BlockIndexCodec {
    static let runFixedSize = 52

    static func append(_ summary: BlockSummary, to out: RawBuffer) {
        let start = out.count
        out.append(UInt32(0))
        out.append(UInt32(0))
        let bodyStart = out.count
        out.append(UInt64(bitPattern: summary.offset))
        out.reserve(BlockHeader.size)
        summary.header.encode(into: out.tail)
        out.count += BlockHeader.size
        out.append(UInt32(summary.runs.count))
        appendRuns(summary.runs, to: out)
        let bodyLength = out.count - bodyStart
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: out.base + bodyStart, count: bodyLength))
        (out.base + start).storeLE(UInt32(bodyLength), at: 0)
        (out.base + start).storeLE(crc, at: 4)
    }

    /// Decodes one record at `p` with `available` bytes; returns the summary and the record size, or nil if the
    /// record is torn or corrupt.
    static func decode(
        _ p: UnsafeRawPointer, available: Int, fileFirstPosition: UInt64
    ) -> (BlockSummary, Int)? {
        guard available >= 8 else { return nil }
        let bodyLength = Int(p.le(0, as: UInt32.self))
        guard bodyLength >= 8 + BlockHeader.size + 4, bodyLength <= available - 8 else { return nil }
        let body = p + 8
        guard CRC32C.checksum(UnsafeRawBufferPointer(start: body, count: bodyLength)) == p.le(4, as: UInt32.self)
        else { return nil }
        guard case .success(let header) = BlockHeader.decode(body + 8) else { return nil }
        let offset = Int64(bitPattern: body.le(0, as: UInt64.self))
        let runCount = Int(body.le(8 + BlockHeader.size, as: UInt32.self))
        let o = 8 + BlockHeader.size + 4
        guard let (runs, runBytes) = decodeRuns(body + o, count: runCount, available: bodyLength - o),
            o + runBytes == bodyLength
        else { return nil }
        return (
            BlockSummary(header: header, fileFirstPosition: fileFirstPosition, offset: offset, runs: runs),
            8 + bodyLength
        )
    }

    /// Appends `runs` back to back in the run layout above (without a count); also the layout of the runs of
    /// a `BatchCodec` row.
    static func appendRuns(_ runs: [SegmentRun], to out: RawBuffer) {
        for run in runs {
            var space = run.space
            var segment = run.segment
            out.append(UInt16(space.utf8.count))
            out.append(UInt16(segment.utf8.count))
            out.append(UInt32(run.count))
            out.append(run.firstSequence)
            out.append(run.lastSequence)
            out.append(run.firstTimestamp)
            out.append(run.lastTimestamp)
            out.append(run.lastTransactionNumber)
            out.append(UInt32(run.endsTransaction ? 1 : 0))
            space.withUTF8 { out.append(UnsafeRawBufferPointer($0)) }
            segment.withUTF8 { out.append(UnsafeRawBufferPointer($0)) }
        }
    }

    /// Decodes `count` runs written by ``appendRuns(_:to:)`` from the `available` bytes at `p`; returns them
    /// and the bytes they take, or nil if a run does not fit in `available` (every length is checked).
    static func decodeRuns(_ p: UnsafeRawPointer, count: Int, available: Int) -> ([SegmentRun], Int)? {
        guard count >= 0, count <= available / runFixedSize else { return nil }
        var o = 0
        var runs: [SegmentRun] = []
        runs.reserveCapacity(count)
        for _ in 0..<count {
            guard runFixedSize <= available - o else { return nil }
            let r = p + o
            let spaceCount = Int(r.le(0, as: UInt16.self))
            let segmentCount = Int(r.le(2, as: UInt16.self))
            guard runFixedSize + spaceCount + segmentCount <= available - o else { return nil }
            let names = r + runFixedSize
            runs.append(
                SegmentRun(
                    space: String(decoding: UnsafeRawBufferPointer(start: names, count: spaceCount), as: UTF8.self),
                    segment: String(
                        decoding: UnsafeRawBufferPointer(start: names + spaceCount, count: segmentCount),
                        as: UTF8.self),
                    count: Int(r.le(4, as: UInt32.self)), firstSequence: r.le(8), lastSequence: r.le(16),
                    firstTimestamp: r.le(24), lastTimestamp: r.le(32), lastTransactionNumber: r.le(40),
                    endsTransaction: r.le(48, as: UInt32.self) & 1 != 0))
            o += runFixedSize + spaceCount + segmentCount
        }
        return (runs, o)
    }
}
