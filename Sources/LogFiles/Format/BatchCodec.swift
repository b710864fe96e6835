#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Encodes a batch of transactions (a group commit) as the bytes of one stored row, for log backends that keep
/// records elsewhere than in log files (the PostgreSQL backend), and decodes them back into entries.
///
/// Positions and timestamps are not known when a batch is encoded: the store assigns them when it commits the
/// row (a first position and a first timestamp). So the row holds its records in the entry-record layout of
/// docs/format.md with **relative** timestamps — record `i` of the row has timestamp `i` — and no positions:
/// entry `i` of a row committed at `firstPosition` and `firstTimestamp` has position `firstPosition + i` and
/// timestamp `firstTimestamp + i` (consecutive nanoseconds across the whole row, so also within each
/// transaction, as the file log guarantees).
///
/// The records are stored as a block's records are (`BlockCodec`): LZ4 block format (codec 1), or raw
/// (codec 0) when LZ4 does not shrink them, checked by the CRC32C of the stored bytes. Each transaction's last
/// record has the ends-transaction flag, so a row holds whole transactions only.
package enum BatchCodec {
    /// The most record bytes one batch may hold before compression (LZ4's input limit, `LZ4_MAX_INPUT_SIZE`).
    /// A database may cap a row lower (PostgreSQL stores at most 1 GB in a `bytea`).
    package static let maxRawBytes = 0x7E00_0000

    /// Bytes in front of the runs in ``EncodedBatch/runsBytes``: CRC32C, run count.
    static let runsPrefixSize = 8

    /// The stored form of a batch, plus what an index needs to know about it without decoding it.
    package struct EncodedBatch: Sendable, Hashable {
        /// The stored bytes: records LZ4-compressed (``codec`` 1) or raw (``codec`` 0).
        package var body: [UInt8]
        /// How ``body`` is stored: a `BlockHeader.Codec` raw value (0 raw, 1 LZ4).
        package var codec: UInt8
        /// Bytes of records before compression.
        package var rawLength: Int
        /// CRC32C of ``body``.
        package var checksum: UInt32
        /// Number of records (entries) in the batch.
        package var entryCount: Int
        /// One run per (space, segment), in order of first appearance, with timestamps relative to the row's
        /// first timestamp (the first record has relative timestamp 0).
        package var runs: [SegmentRun]
        /// ``runs`` encoded for storage (decoded by ``BatchCodec/decodeRuns(_:firstTimestamp:)``):
        ///
        /// ```
        /// u32 CRC32C of the bytes that follow, u32 run count, runs back to back
        /// run: u16 space length, u16 segment length, u32 count, u64 first sequence, u64 last sequence,
        ///      i64 first timestamp, i64 last timestamp (both relative to the row's first timestamp),
        ///      u64 last transaction number, u32 flags (bit 0: the run's last entry ends its transaction),
        ///      then the space and segment bytes (UTF-8)
        /// ```
        ///
        /// All integers little-endian; a run is laid out as in the block-index sidecar (docs/format.md).
        package var runsBytes: [UInt8]
    }

    /// Encodes `transactions`, in order, as one batch.
    ///
    /// Every record gets a relative timestamp (0, 1, 2 … across the whole batch) and its transaction's id and
    /// number; the last record of each transaction is flagged as ending it.
    /// - Parameter compress: Whether to try LZ4 (the records are stored raw when it does not shrink them).
    /// - Throws: `LogFilesError` — `.invalidArgument` for no transactions, a transaction without records, a
    ///   space or segment name over 65,535 bytes, a metadata key or field that does not fit the record layout;
    ///   `.transactionTooLarge` when the records take more than ``maxRawBytes``.
    package static func encode(_ transactions: [TransactionInput], compress: Bool = true) throws -> EncodedBatch {
        guard !transactions.isEmpty else {
            throw LogFilesError.invalidArgument("a batch needs at least one transaction")
        }
        var sizes: [Int] = []
        var total = 0
        for transaction in transactions {
            guard !transaction.records.isEmpty else {
                throw LogFilesError.invalidArgument("a transaction needs at least one record")
            }
            let spaceBytes = transaction.space.utf8.count
            let segmentBytes = transaction.segment.utf8.count
            guard spaceBytes <= RecordCodec.maxNameBytes, segmentBytes <= RecordCodec.maxNameBytes else {
                throw LogFilesError.invalidArgument(
                    "space or segment name over \(RecordCodec.maxNameBytes) bytes", limit: RecordCodec.maxNameBytes)
            }
            for record in transaction.records {
                let size = try RecordCodec.encodedSize(nameBytes: spaceBytes + segmentBytes, record: record)
                sizes.append(size)
                total += size
                guard total <= maxRawBytes else {
                    throw LogFilesError(
                        code: .transactionTooLarge, message: "batch encodes to over \(maxRawBytes) bytes",
                        limit: maxRawBytes)
                }
            }
        }

        let raw = RawBuffer(capacity: total)
        var runs = RunBuilder()
        var index = 0
        for transaction in transactions {
            var space = transaction.space
            var segment = transaction.segment
            let id = transaction.transactionID.uuid
            let records = transaction.records
            let start = raw.count
            var last = start
            space.withUTF8 { spaceBytes in
                segment.withUTF8 { segmentBytes in
                    for (i, record) in records.enumerated() {
                        let size = sizes[index]
                        raw.reserve(size)
                        last = raw.count
                        RecordCodec.encode(
                            record, size: size, at: raw.tail, space: UnsafeRawBufferPointer(spaceBytes),
                            segment: UnsafeRawBufferPointer(segmentBytes), timestamp: Int64(index),
                            transactionNumber: transaction.transactionNumber, transactionID: id,
                            endsTransaction: i == records.count - 1)
                        raw.count += size
                        index += 1
                    }
                }
            }
            let base = UnsafeRawPointer(raw.base)
            runs.add(RecordView(base: base + start))
            if records.count > 1 { runs.extend(by: records.count - 1, last: RecordView(base: base + last)) }
        }

        let sealed = RawBuffer(capacity: BlockHeader.size + total)
        let header = BlockCodec.seal(
            records: raw.bytes, entryCount: index, firstPosition: 1, minTimestamp: 0, maxTimestamp: Int64(index - 1),
            compress: compress, into: sealed)
        return EncodedBatch(
            body: Array(UnsafeRawBufferPointer(start: sealed.base + BlockHeader.size, count: header.storedLength)),
            codec: header.codec.rawValue, rawLength: header.rawLength, checksum: header.checksum, entryCount: index,
            runs: runs.runs, runsBytes: encodeRuns(runs.runs))
    }

    /// Decodes a stored batch into its entries: entry `i` gets position `firstPosition + i` and timestamp
    /// `firstTimestamp + i`. The entries' payloads share one decompressed array (no copy per payload).
    ///
    /// Checks the stored bytes' CRC32C, that they decompress to `rawLength`, that the records are well framed,
    /// number `entryCount`, carry relative timestamps 0, 1, 2 … and end with the end of a transaction.
    /// - Throws: `LogFilesError` `.corrupt` naming the first check that failed (also for values that cannot
    ///   describe a batch: an unknown codec, a count or length out of range, a position or timestamp that
    ///   overflows).
    package static func decode(
        body: UnsafeRawBufferPointer, codec: UInt8, rawLength: Int, checksum: UInt32, entryCount: Int,
        firstPosition: UInt64, firstTimestamp: Int64
    ) throws -> [Entry] {
        guard let codec = BlockHeader.Codec(rawValue: codec) else { throw corrupt("unknown codec \(codec)") }
        guard entryCount > 0 else { throw corrupt("entry count \(entryCount) is not positive") }
        guard rawLength >= 0, rawLength <= maxRawBytes, body.count <= maxRawBytes,
            rawLength / RecordCodec.fixedSize >= entryCount
        else { throw corrupt("raw length \(rawLength) cannot hold \(entryCount) records") }
        switch codec {
        case .raw:
            guard rawLength == body.count else {
                throw corrupt("raw body of \(body.count) bytes, raw length says \(rawLength)")
            }
        case .lz4:
            // An LZ4 block holds under 255 raw bytes per stored byte (a match's length grows by at most 255
            // per byte); a larger raw length is damage, not worth allocating for.
            guard rawLength / 255 <= body.count else {
                throw corrupt("raw length \(rawLength) is out of reach of \(body.count) LZ4 bytes")
            }
        }
        let count = UInt64(entryCount)
        guard firstPosition > 0, firstPosition <= UInt64.max - (count - 1) else {
            throw corrupt("first position \(firstPosition) cannot start \(entryCount) entries")
        }
        guard firstTimestamp <= Int64.max - Int64(entryCount - 1) else {
            throw corrupt("first timestamp \(firstTimestamp) cannot start \(entryCount) entries")
        }
        let header = BlockHeader(
            codec: codec, rawLength: rawLength, storedLength: body.count, checksum: checksum, entryCount: entryCount,
            firstPosition: firstPosition, minTimestamp: 0, maxTimestamp: Int64(entryCount - 1))
        let raw: [UInt8]
        switch BlockCodec.decode(header, stored: body) {
        case .success(let array): raw = array
        case .failure(let problem): throw corrupt(problem.reason)
        }
        return try raw.withUnsafeBytes { bytes in
            // `BlockCodec.decode` checked the framing, the count and that every record lies in the buffer.
            let base = bytes.baseAddress!
            var entries: [Entry] = []
            entries.reserveCapacity(entryCount)
            var materializer = EntryMaterializer()
            var o = 0
            while o < bytes.count {
                let view = RecordView(base: base + o)
                let i = entries.count
                guard view.timestamp == Int64(i) else {
                    throw corrupt("record \(i) has relative timestamp \(view.timestamp), expected \(i)")
                }
                var entry = materializer.entry(view, position: firstPosition + UInt64(i), in: raw, base: base)
                entry.timestamp = firstTimestamp + Int64(i)
                entries.append(entry)
                o += view.size
            }
            guard entries.last?.endsTransaction == true else {
                throw corrupt("the last record does not end its transaction")
            }
            return entries
        }
    }

    /// ``decode(body:codec:rawLength:checksum:entryCount:firstPosition:firstTimestamp:)`` for bytes in an array.
    package static func decode(
        body: [UInt8], codec: UInt8, rawLength: Int, checksum: UInt32, entryCount: Int, firstPosition: UInt64,
        firstTimestamp: Int64
    ) throws -> [Entry] {
        try body.withUnsafeBytes {
            try decode(
                body: $0, codec: codec, rawLength: rawLength, checksum: checksum, entryCount: entryCount,
                firstPosition: firstPosition, firstTimestamp: firstTimestamp)
        }
    }

    /// The batch with every record that `deletions` cover erased (compaction; docs/format.md, erased records):
    /// the same count and relative timestamps, new stored bytes and runs; nil when it holds no covered record.
    /// - Throws: `LogFilesError` `.corrupt` as ``decode(body:codec:rawLength:checksum:entryCount:firstPosition:firstTimestamp:)``.
    package static func erase(
        body: [UInt8], codec: UInt8, rawLength: Int, checksum: UInt32, entryCount: Int, firstPosition: UInt64,
        deletions: [StoreManifest.SegmentName: StoreManifest.Deletion]
    ) throws -> EncodedBatch? {
        guard let blockCodec = BlockHeader.Codec(rawValue: codec), entryCount > 0 else {
            throw corrupt("unknown codec \(codec) or no entries")
        }
        let header = BlockHeader(
            codec: blockCodec, rawLength: rawLength, storedLength: body.count, checksum: checksum,
            entryCount: entryCount,
            firstPosition: firstPosition, minTimestamp: 0, maxTimestamp: Int64(entryCount - 1))
        let raw: [UInt8]
        switch body.withUnsafeBytes({ BlockCodec.decode(header, stored: $0) }) {
        case .success(let array): raw = array
        case .failure(let problem): throw corrupt(problem.reason)
        }
        var covers = LogCompaction.CoverCheck(deletions)
        let records = RawBuffer(capacity: raw.count)
        var runs = RunBuilder()
        let erased = raw.withUnsafeBytes { covers.erase($0, firstPosition: firstPosition, into: records, runs: &runs) }
        guard erased > 0 else { return nil }
        let sealed = RawBuffer(capacity: BlockHeader.size + records.count)
        let sealedHeader = BlockCodec.seal(
            records: records.bytes, entryCount: entryCount, firstPosition: firstPosition, minTimestamp: 0,
            maxTimestamp: Int64(entryCount - 1), compress: true, into: sealed)
        return EncodedBatch(
            body: Array(
                UnsafeRawBufferPointer(start: sealed.base + BlockHeader.size, count: sealedHeader.storedLength)),
            codec: sealedHeader.codec.rawValue, rawLength: sealedHeader.rawLength, checksum: sealedHeader.checksum,
            entryCount: entryCount, runs: runs.runs, runsBytes: encodeRuns(runs.runs))
    }

    /// Decodes ``EncodedBatch/runsBytes`` into runs with absolute timestamps (relative + `firstTimestamp`).
    /// - Throws: `LogFilesError` `.corrupt` when the bytes fail their CRC, a run overruns them or bytes are left
    ///   over, or a run's count or timestamps are impossible.
    package static func decodeRuns(_ bytes: [UInt8], firstTimestamp: Int64) throws -> [SegmentRun] {
        try bytes.withUnsafeBytes { bytes in
            guard bytes.count >= runsPrefixSize, let base = bytes.baseAddress else {
                throw corrupt("runs of \(bytes.count) bytes are truncated")
            }
            let rest = UnsafeRawBufferPointer(start: base + 4, count: bytes.count - 4)
            guard CRC32C.checksum(rest) == base.le(0, as: UInt32.self) else { throw corrupt("runs checksum mismatch") }
            return try parseRuns(rest, firstTimestamp: firstTimestamp)
        }
    }

    /// Decodes the runs after the CRC (run count, runs), checking every length and value.
    static func parseRuns(_ bytes: UnsafeRawBufferPointer, firstTimestamp: Int64) throws -> [SegmentRun] {
        guard bytes.count >= 4, let base = bytes.baseAddress else { throw corrupt("runs have no run count") }
        let count = Int(base.le(0, as: UInt32.self))
        guard count > 0 else { throw corrupt("a batch has at least one run, the bytes say none") }
        guard let (decoded, used) = BlockIndexCodec.decodeRuns(base + 4, count: count, available: bytes.count - 4)
        else { throw corrupt("\(count) runs do not fit in \(bytes.count) bytes") }
        var runs = decoded
        guard 4 + used == bytes.count else { throw corrupt("\(bytes.count - 4 - used) bytes after the last run") }
        for i in runs.indices {
            let run = runs[i]
            guard run.count > 0, run.firstTimestamp >= 0, run.lastTimestamp >= run.firstTimestamp,
                run.lastTimestamp - run.firstTimestamp >= Int64(run.count - 1)
            else { throw corrupt("run \(i) has an impossible count or timestamps") }
            let (first, firstOverflow) = firstTimestamp.addingReportingOverflow(run.firstTimestamp)
            let (last, lastOverflow) = firstTimestamp.addingReportingOverflow(run.lastTimestamp)
            guard !firstOverflow, !lastOverflow else { throw corrupt("run \(i) timestamps overflow") }
            runs[i].firstTimestamp = first
            runs[i].lastTimestamp = last
        }
        return runs
    }

    /// The storage form of `runs` (see ``EncodedBatch/runsBytes``).
    static func encodeRuns(_ runs: [SegmentRun]) -> [UInt8] {
        let out = RawBuffer(capacity: runsPrefixSize + runs.count * (BlockIndexCodec.runFixedSize + 16))
        out.append(UInt32(0))
        out.append(UInt32(runs.count))
        BlockIndexCodec.appendRuns(runs, to: out)
        out.base.storeLE(CRC32C.checksum(UnsafeRawBufferPointer(start: out.base + 4, count: out.count - 4)), at: 0)
        return Array(out.bytes)
    }

    private static func corrupt(_ reason: String) -> LogFilesError {
        LogFilesError(code: .corrupt, message: "batch: \(reason)")
    }
}
