/// Collects committed records into the open block and seals it when full. Owned by the commit thread.
final class BlockBuilder {
    let blockBytes: Int
    let compression: Bool
    private let raw: RawBuffer
    private let sealed = RawBuffer(capacity: 80 << 10)
    private var runs = RunBuilder()
    private(set) var firstPosition: UInt64 = 0
    private(set) var count = 0
    private var minTimestamp = Int64.max
    private var maxTimestamp = Int64.min

    /// - Parameter startPosition: Position of the first record to come (the log's end), so that
    ///   `firstPosition - 1` is always the last sealed position, also before any record arrives.
    init(blockBytes: Int, compression: Bool, startPosition: UInt64) {
        self.blockBytes = blockBytes
        self.compression = compression
        self.firstPosition = startPosition
        raw = RawBuffer(capacity: blockBytes + 4096)
    }

    var isEmpty: Bool { count == 0 }
    /// Position after the last record added.
    var endPosition: UInt64 { firstPosition + UInt64(count) }

    /// Adds records (encoded, back to back) starting at `position`; calls `seal` for every block that fills.
    func add(
        records: UnsafeRawBufferPointer, position: UInt64,
        seal: (RawBuffer, BlockHeader, [SegmentRun]) throws -> Void
    ) throws {
        guard let base = records.baseAddress else { return }
        var o = 0
        var position = position
        while o < records.count {
            let view = RecordView(base: base + o)
            let size = view.size
            if count > 0 && raw.count + size > blockBytes { try sealNow(seal) }
            if count == 0 { firstPosition = position }
            let at = raw.count
            raw.append(UnsafeRawBufferPointer(start: base + o, count: size))
            let stored = RecordView(base: UnsafeRawPointer(raw.base + at))
            runs.add(stored)
            let ts = stored.timestamp
            if ts < minTimestamp { minTimestamp = ts }
            if ts > maxTimestamp { maxTimestamp = ts }
            count += 1
            o += size
            position += 1
        }
    }

    /// Seals the open block, if any.
    func sealNow(_ seal: (RawBuffer, BlockHeader, [SegmentRun]) throws -> Void) throws {
        guard count > 0 else { return }
        let header = BlockCodec.seal(
            records: raw.bytes, entryCount: count, firstPosition: firstPosition, minTimestamp: minTimestamp,
            maxTimestamp: maxTimestamp, compress: compression, into: sealed)
        try seal(sealed, header, runs.runs)
        raw.count = 0
        raw.trim(to: blockBytes + 4096)
        runs.reset()
        firstPosition += UInt64(count)
        count = 0
        minTimestamp = .max
        maxTimestamp = .min
    }
}
