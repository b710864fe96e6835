/// Collects committed records into the open block and hands each full block on, uncompressed, as a
/// ``RawBlock``. Owned by whoever holds the WAL (`walBusy`): the appending task on the inline path or the WAL
/// thread, so records are copied while they are still in that core's cache and the sealer thread only
/// compresses and writes.
final class BlockBuilder {
    let blockBytes: Int
    private var raw: RawBuffer
    private var runs = RunBuilder()
    private(set) var firstPosition: UInt64 = 0
    private(set) var count = 0
    private var minTimestamp = Int64.max
    private var maxTimestamp = Int64.min

    /// - Parameter startPosition: Position of the first record to come (the log's end), so that
    ///   `firstPosition - 1` is always the last position handed on, also before any record arrives.
    init(blockBytes: Int, startPosition: UInt64) {
        self.blockBytes = blockBytes
        self.firstPosition = startPosition
        raw = RawBuffer(capacity: Self.bufferCapacity(blockBytes))
    }

    /// Capacity of a block buffer: one block plus room for the record that ends it.
    static func bufferCapacity(_ blockBytes: Int) -> Int { blockBytes + 4096 }

    var isEmpty: Bool { count == 0 }
    /// Position after the last record added.
    var endPosition: UInt64 { firstPosition + UInt64(count) }

    /// Adds records (encoded, back to back) starting at `position`; calls `emit` with every block that fills.
    /// `emit` owns the block from then on and returns an empty buffer for the next one.
    /// - Parameter oneSegment: All the records belong to one segment in sequence order (a WAL frame): they
    ///   are copied and indexed as spans, not one by one.
    func add(
        records: UnsafeRawBufferPointer, position: UInt64, oneSegment: Bool = false,
        emit: (RawBlock) throws -> RawBuffer
    ) throws {
        guard let base = records.baseAddress else { return }
        var o = 0
        var position = position
        while o < records.count {
            let size = RecordView(base: base + o).size
            if count > 0 && raw.count + size > blockBytes { try sealNow(emit) }
            if count == 0 { firstPosition = position }
            // The span of records from `o` that goes into this block: one record, or for one segment as
            // many as fit.
            var end = o + size
            var n = 1
            var low = RecordView(base: base + o).timestamp
            var high = low
            var last = o
            if oneSegment {
                var used = raw.count + size
                while end < records.count {
                    let next = RecordView(base: base + end)
                    let nextSize = next.size
                    if used + nextSize > blockBytes { break }
                    let ts = next.timestamp
                    if ts < low { low = ts }
                    if ts > high { high = ts }
                    last = end
                    used += nextSize
                    end += nextSize
                    n += 1
                }
            }
            let at = raw.count
            raw.append(UnsafeRawBufferPointer(start: base + o, count: end - o))
            let blockBase = UnsafeRawPointer(raw.base)
            runs.add(RecordView(base: blockBase + at))
            if n > 1 { runs.extend(by: n - 1, last: RecordView(base: blockBase + at + (last - o))) }
            if low < minTimestamp { minTimestamp = low }
            if high > maxTimestamp { maxTimestamp = high }
            count += n
            o = end
            position += UInt64(n)
        }
    }

    /// Hands the open block on, if any.
    func sealNow(_ emit: (RawBlock) throws -> RawBuffer) throws {
        guard count > 0 else { return }
        let block = RawBlock(
            buffer: raw, firstPosition: firstPosition, count: count, minTimestamp: minTimestamp,
            maxTimestamp: maxTimestamp, runs: runs.runs)
        raw = try emit(block)
        raw.count = 0
        runs.reset()
        firstPosition += UInt64(count)
        count = 0
        minTimestamp = .max
        maxTimestamp = .min
    }
}

/// A full block of encoded records on its way to the sealer, which compresses and writes it.
struct RawBlock {
    let buffer: RawBuffer
    let firstPosition: UInt64
    let count: Int
    let minTimestamp: Int64
    let maxTimestamp: Int64
    let runs: [SegmentRun]

    var lastPosition: UInt64 { firstPosition + UInt64(count) - 1 }

    /// Compresses the block into `out` (header + stored bytes) and returns its header.
    func seal(compress: Bool, into out: RawBuffer) -> BlockHeader {
        BlockCodec.seal(
            records: buffer.bytes, entryCount: count, firstPosition: firstPosition, minTimestamp: minTimestamp,
            maxTimestamp: maxTimestamp, compress: compress, into: out)
    }
}
