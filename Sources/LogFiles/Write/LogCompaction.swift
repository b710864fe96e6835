package import Logging

/// Compaction: rewrites sealed log files so that the entries deletions cover (``StoreManifest/Deletion``) are
/// gone from the disk, not only from reads. Each such entry's record is replaced by an **erased record** (no
/// space or segment name, payload, metadata, sequence or transaction; its timestamp kept): positions do not
/// move, so offsets, block indexes and every other entry stay as they were, and a reader skips erased records.
///
/// A file is rewritten into `<file>.compacting` (and its block index beside it), synced, and renamed over the
/// original, then the directory is synced: a crash leaves the old file or the new one, never a mix (a leftover
/// `.compacting` file is removed when the store opens; a block index left over from the old file disagrees with
/// the new file and is rebuilt). A deletion is dropped from the manifest once no file holds what it covers.
public enum LogCompaction {
    /// What a compaction did.
    public struct Outcome: Sendable, Hashable {
        /// Log files rewritten.
        public var rewrittenFiles = 0
        /// Entries erased (deleted entries whose bytes left the disk).
        public var erasedEntries = 0
        /// Bytes the rewritten files (with their block indexes) took before minus after.
        public var reclaimedBytes: Int64 = 0
        /// Bytes of log files read to find what to erase.
        public var readBytes: Int64 = 0
        /// Deletions that no log file holds any more (dropped from the manifest).
        public var finishedDeletions: [StoreManifest.Deletion] = []

        /// Nothing done.
        public init() {}

        /// What a compaction did, as log metadata.
        package var logMetadata: Logger.Metadata {
            [
                "files": "\(rewrittenFiles)", "erased": "\(erasedEntries)", "reclaimed_bytes": "\(reclaimedBytes)",
                "read_bytes": "\(readBytes)", "finished_deletions": "\(finishedDeletions.count)",
            ]
        }
    }

    /// Erases what the deletions of a closed store cover from its log files (every file holding some is
    /// rewritten, the last one too: no writer appends to it), drops the deletions no file holds any more from the
    /// manifest, and keeps the head of each of their segments with no entry left (``StoreManifest/retired``).
    /// A store a crash left with WAL files keeps its deletions (the files may hold deleted entries' frames) until it
    /// is opened and closed; its log files are compacted all the same.
    ///
    /// - Returns: What was done.
    /// - Throws: `LogFilesError` — `.storeLocked` when the store is open elsewhere, `.notAStore`, `.corrupt`
    ///   (that file stays as it was), `.io`.
    public static func run(directory: String, configuration: LogConfiguration = .init()) throws -> Outcome {
        try ClosedStore.withLock(directory: directory, configuration: configuration) { layout, recovered in
            try run(recovered, layout: layout, configuration: configuration)
        }
    }

    private static func run(
        _ recovered: Recovery.Outcome, layout: StoreLayout, configuration: LogConfiguration
    ) throws
        -> Outcome
    {
        let fileSystem = configuration.fileSystem
        let manifest = recovered.manifest
        var outcome = Outcome()
        guard let lastCovered = manifest.deletions.map(\.through).max() else { return outcome }
        let byName = manifest.deletionsBySegment

        var blocks = recovered.blocks
        var start = 0
        while start < blocks.count {
            let first = blocks[start].fileFirstPosition
            let end = blocks[start...].firstIndex { $0.fileFirstPosition != first } ?? blocks.count
            defer { start = end }
            guard first <= lastCovered else { continue }
            let fileBlocks = blocks[start..<end].map { BlockHeaderAt(header: $0.header, offset: $0.offset) }
            let size = Int64(fileBlocks.reduce(0) { $0 + BlockHeader.size + $1.header.storedLength })
            guard
                let rewrite = try LogCompaction.rewrite(
                    file: first, blocks: fileBlocks, deletions: byName, fileSystem: fileSystem, layout: layout,
                    compress: configuration.compression, createdAt: configuration.clock(), endsLog: end == blocks.count,
                    pace: { _ in })
            else {
                outcome.readBytes += size
                continue
            }
            try install(rewrite, fileSystem: fileSystem, layout: layout)
            outcome.readBytes += rewrite.readBytes
            outcome.rewrittenFiles += 1
            outcome.erasedEntries += rewrite.erased
            outcome.reclaimedBytes += rewrite.oldBytes - rewrite.newBytes
            blocks.replaceSubrange(start..<end, with: rewrite.blocks)
        }

        // What the log holds now (sealed blocks and the unsealed tail), and each segment's head before.
        let present = ClosedStore.segments(in: blocks, tail: recovered)
        var heads: [StoreManifest.SegmentName: StoreManifest.RetiredSegment] = [:]
        for block in recovered.blocks {
            for run in block.runs where byName[SegmentName(space: run.space, segment: run.segment)] != nil {
                heads[SegmentName(space: run.space, segment: run.segment)] = StoreManifest.RetiredSegment(
                    space: run.space, segment: run.segment, lastSequence: run.lastSequence,
                    lastTransactionNumber: run.lastTransactionNumber, lastTimestamp: run.lastTimestamp)
            }
        }
        // WAL files a crash left may hold deleted entries' frames, as may the spare kept for reuse: the deletions
        // stay while WAL files do (until the store is opened and closed); the spare goes.
        guard recovered.olderWAL.isEmpty else { return outcome }
        outcome.finishedDeletions = manifest.deletions.filter { $0.through < recovered.tailFirstPosition }
        guard !outcome.finishedDeletions.isEmpty else { return outcome }
        if fileSystem.exists(layout.walSparePath) { try fileSystem.remove(layout.walSparePath) }
        var retired = Dictionary(manifest.retired.map { (SegmentName(space: $0.space, segment: $0.segment), $0) }) {
            $1
        }
        for deletion in outcome.finishedDeletions {
            let name = SegmentName(space: deletion.space, segment: deletion.segment)
            if !present.contains(name), let head = heads[name] { retired[name] = head }
        }
        let finished = Set(outcome.finishedDeletions)
        let next = StoreManifest(
            logStart: manifest.logStart, retired: Array(retired.values),
            deletions: manifest.deletions.filter { !finished.contains($0) }, policy: manifest.policy)
        try next.write(fileSystem: fileSystem, layout: layout, createdAt: configuration.clock())
        configuration.logger.info(
            "deleted entries erased", metadata: outcome.logMetadata.merging(["store": "\(layout.root)"]) { $1 })
        return outcome
    }

    private typealias SegmentName = StoreManifest.SegmentName

    /// A log file rewritten to temporary files, not in place yet.
    struct Rewrite {
        var first: UInt64
        /// The new file's blocks (same count, positions and timestamps as the old file's).
        var blocks: [BlockSummary]
        var erased: Int
        var oldBytes: Int64
        var newBytes: Int64
        var readBytes: Int64
    }

    /// The suffix of a file being rewritten.
    static let temporarySuffix = ".compacting"

    /// Rewrites log file `first`, whose blocks are `blocks` (in order), into temporary files with every record
    /// that `deletions` cover erased; nil (and no temporary file) when the file holds none.
    ///
    /// - Parameter pace: Called after each block with the bytes read and written for it (to bound the rate).
    /// - Throws: `LogFilesError` — `.corrupt` for a block that fails its checks (nothing is written), `.io`.
    ///
    /// A block whose index says every entry is deleted (or erased already) is not read: its erased records are
    /// made from the header, each with a lower bound of its entry's time (docs/format.md), except the log's last
    /// block (`endsLog`), whose transaction boundaries recovery reads.
    static func rewrite(
        file first: UInt64, blocks: [BlockHeaderAt], deletions: [StoreManifest.SegmentName: StoreManifest.Deletion],
        fileSystem: any FileSystem, layout: StoreLayout, compress: Bool, createdAt: Int64, endsLog: Bool = false,
        pace: (Int) throws -> Void
    ) throws -> Rewrite? {
        let path = layout.logPath(firstPosition: first)
        let source = try fileSystem.open(path, mode: .read)
        defer { source.close() }
        var covers = CoverCheck(deletions)

        // The block index says, without decompressing, which segments each block holds: blocks none of whose runs
        // a deletion covers are copied as stored (most of a file, and all of a file compacted before).
        var indexed: [Int64: BlockSummary] = [:]
        try LogFileScanner.readIndex(fileSystem: fileSystem, layout: layout, firstPosition: first) { summary in
            indexed[summary.offset] = summary
            return true
        } onEnd: { _ in
        }
        func indexedRuns(of block: BlockHeaderAt) -> [SegmentRun]? {
            guard let summary = indexed[block.offset], summary.header == block.header else { return nil }
            return summary.runs
        }
        /// Whether every entry of an indexed block is deleted or erased (and some deleted).
        func coversWholly(_ runs: [SegmentRun]) -> Bool {
            var some = false
            for run in runs where !run.space.isEmpty {
                guard let deletion = deletions[StoreManifest.SegmentName(space: run.space, segment: run.segment)],
                    run.lastSequence < deletion.before
                else { return false }
                some = true
            }
            return some
        }
        func mayCover(_ block: BlockHeaderAt) -> Bool {
            guard let runs = indexedRuns(of: block) else { return true }  // Not indexed: look at its records.
            return runs.contains { run in
                deletions[StoreManifest.SegmentName(space: run.space, segment: run.segment)].map {
                    run.firstSequence < $0.before && block.header.firstPosition <= $0.through
                } ?? false
            }
        }

        // First pass: which blocks hold a covered record (most files hold none and are left alone). An indexed
        // block's runs say it exactly: a segment's sequences are gapless, so a run holds `before - first` covered
        // entries when it starts below the deletion's bound (and they lie at or before its `through`).
        let stored = RawBuffer(capacity: 64 * 1024)
        let raw = RawBuffer(capacity: 64 * 1024)
        var covered: [Bool] = []
        var readBytes: Int64 = 0
        var erased = 0
        for block in blocks {
            guard mayCover(block) else {
                covered.append(false)
                continue
            }
            var count = 0
            if let runs = indexedRuns(of: block) {
                for run in runs where !run.space.isEmpty {
                    guard let deletion = deletions[StoreManifest.SegmentName(space: run.space, segment: run.segment)],
                        run.firstSequence < deletion.before
                    else { continue }
                    count += Int(min(run.lastSequence + 1, deletion.before) - run.firstSequence)
                }
            } else {
                try readRaw(block, file: source, path: path, stored: stored, raw: raw)
                readBytes += Int64(BlockHeader.size + block.header.storedLength)
                BlockCodec.forEachRecord(raw.bytes, firstPosition: block.header.firstPosition) { view, position in
                    if covers.covers(view, position: position) { count += 1 }
                }
                try pace(BlockHeader.size + block.header.storedLength)
            }
            covered.append(count > 0)
            erased += count
        }
        guard erased > 0 else { return nil }

        let temporary = path + temporarySuffix
        let indexPath = layout.indexPath(firstPosition: first)
        let temporaryIndex = indexPath + temporarySuffix
        for leftover in [temporary, temporaryIndex] where fileSystem.exists(leftover) {
            try fileSystem.remove(leftover)
        }
        let output = try fileSystem.open(temporary, mode: .create)
        let index = try fileSystem.open(temporaryIndex, mode: .create)
        do {
            defer {
                output.close()
                index.close()
            }
            let header = FileHeader(kind: .log, firstPosition: first, fileID: first, createdAt: createdAt)
            try header.bytes.withUnsafeBytes { try output.write($0, at: 0) }
            var indexHeader = header
            indexHeader.kind = .index
            try indexHeader.bytes.withUnsafeBytes { try index.write($0, at: 0) }
            var offset = Int64(FileHeader.size)
            var indexOffset = Int64(FileHeader.size)
            let sealed = RawBuffer(capacity: 64 * 1024)
            let records = RawBuffer(capacity: 64 * 1024)
            var erasedWritten = 0
            let indexRecord = RawBuffer(capacity: 4096)
            var summaries: [BlockSummary] = []
            for (i, (block, rewrite)) in zip(blocks, covered).enumerated() {
                var runs = RunBuilder()
                var knownRuns: [SegmentRun]?
                let blockHeader: BlockHeader
                if rewrite, !(endsLog && i == blocks.count - 1), let known = indexedRuns(of: block), coversWholly(known)
                {
                    // Every entry deleted: erased records from the header alone, no read (the time of each a lower
                    // bound: times rise by at least 1 ns per entry within the block's range).
                    let header = block.header
                    records.count = 0
                    records.reserve(header.entryCount * RecordCodec.fixedSize)
                    for n in 0..<header.entryCount {
                        let timestamp = min(header.minTimestamp &+ Int64(n), header.maxTimestamp)
                        RecordCodec.encodeErased(at: records.tail, timestamp: timestamp, endsTransaction: true)
                        runs.add(RecordView(base: records.tail))
                        records.count += RecordCodec.fixedSize
                    }
                    erasedWritten += known.filter { !$0.space.isEmpty }.reduce(0) { $0 + $1.count }
                    blockHeader = BlockCodec.seal(
                        records: UnsafeRawBufferPointer(start: records.base, count: records.count),
                        entryCount: header.entryCount, firstPosition: header.firstPosition,
                        minTimestamp: header.minTimestamp, maxTimestamp: header.maxTimestamp,
                        compress: compress || header.codec == .lz4, into: sealed)
                } else if !rewrite, let known = indexedRuns(of: block) {
                    // Unchanged and indexed: copied as stored, without decompressing.
                    try readStored(block, file: source, path: path, into: sealed)
                    readBytes += Int64(sealed.count)
                    blockHeader = block.header
                    knownRuns = known
                } else if rewrite {
                    // Read again (a rewrite holds one block in memory at a time); the runs come from the records.
                    try readRaw(block, file: source, path: path, stored: stored, raw: raw)
                    readBytes += Int64(BlockHeader.size + block.header.storedLength)
                    records.count = 0
                    erasedWritten += covers.erase(
                        raw.bytes, firstPosition: block.header.firstPosition, into: records, runs: &runs)
                    blockHeader = BlockCodec.seal(
                        records: UnsafeRawBufferPointer(start: records.base, count: records.count),
                        entryCount: block.header.entryCount, firstPosition: block.header.firstPosition,
                        minTimestamp: block.header.minTimestamp, maxTimestamp: block.header.maxTimestamp,
                        compress: compress || block.header.codec == .lz4, into: sealed)
                } else {
                    // Unchanged, not indexed: copied as stored; its runs come from its records.
                    try readRaw(block, file: source, path: path, stored: sealed, raw: raw)
                    readBytes += Int64(BlockHeader.size + block.header.storedLength)
                    BlockCodec.forEachRecord(raw.bytes, firstPosition: block.header.firstPosition) { view, _ in
                        runs.add(view)
                    }
                    blockHeader = block.header
                }
                try output.write(UnsafeRawBufferPointer(start: sealed.base, count: sealed.count), at: offset)
                let summary = BlockSummary(
                    header: blockHeader, fileFirstPosition: first, offset: offset, runs: knownRuns ?? runs.runs)
                summaries.append(summary)
                indexRecord.count = 0
                BlockIndexCodec.append(summary, to: indexRecord)
                try index.write(
                    UnsafeRawBufferPointer(start: indexRecord.base, count: indexRecord.count), at: indexOffset)
                offset += Int64(sealed.count)
                indexOffset += Int64(indexRecord.count)
                try pace(sealed.count)
            }
            try output.sync()
            try index.sync()
            let oldBytes = try fileSystem.size(of: path) + ((try? fileSystem.size(of: indexPath)) ?? 0)
            return Rewrite(
                first: first, blocks: summaries, erased: erasedWritten, oldBytes: oldBytes,
                newBytes: offset + indexOffset,
                readBytes: readBytes)
        } catch {
            try? fileSystem.remove(temporary)
            try? fileSystem.remove(temporaryIndex)
            throw error
        }
    }

    /// Puts a rewrite in place: renames the new log file and its block index over the old ones and syncs the
    /// directory.
    /// - Throws: `LogFilesError.io`.
    static func install(_ rewrite: Rewrite, fileSystem: any FileSystem, layout: StoreLayout) throws {
        let path = layout.logPath(firstPosition: rewrite.first)
        let indexPath = layout.indexPath(firstPosition: rewrite.first)
        try fileSystem.rename(path + temporarySuffix, to: path)
        try fileSystem.rename(indexPath + temporarySuffix, to: indexPath)
        try fileSystem.syncDirectory(layout.logDirectory)
    }

    /// Removes what an interrupted rewrite left (temporary files), when a store opens.
    static func removeLeftovers(fileSystem: any FileSystem, layout: StoreLayout) throws {
        for name in try fileSystem.list(layout.logDirectory) where name.hasSuffix(temporarySuffix) {
            try fileSystem.remove(layout.logDirectory + "/" + name)
        }
    }

    /// A block's header and where it is in its file.
    struct BlockHeaderAt {
        var header: BlockHeader
        var offset: Int64
    }

    /// Reads a block (header and stored bytes as they are in the file), checks it and decompresses its records.
    /// Reads a block as stored (header and stored bytes) into `stored`.
    private static func readStored(
        _ block: BlockHeaderAt, file: any StorageFile, path: String, into stored: RawBuffer
    ) throws {
        let size = BlockHeader.size + block.header.storedLength
        stored.count = 0
        stored.reserve(size)
        let read = try file.read(into: UnsafeMutableRawBufferPointer(start: stored.base, count: size), at: block.offset)
        guard read == size else { throw LogFilesError.corrupt("block truncated", path: path, offset: block.offset) }
        stored.count = size
    }

    /// Reads a block as stored into `stored` and its checked records into `raw`.
    private static func readRaw(
        _ block: BlockHeaderAt, file: any StorageFile, path: String, stored: RawBuffer, raw: RawBuffer
    )
        throws
    {
        try readStored(block, file: file, path: path, into: stored)
        let body = UnsafeRawBufferPointer(start: stored.base + BlockHeader.size, count: block.header.storedLength)
        if let problem = BlockCodec.decode(block.header, stored: body, into: raw) {
            throw LogFilesError.corrupt(problem.reason, path: path, offset: block.offset)
        }
    }

    /// Whether deletions cover a record, remembering the last names looked up (records of one segment come in
    /// runs).
    struct CoverCheck {
        private let deletions: [StoreManifest.SegmentName: StoreManifest.Deletion]
        private var lastSpace: [UInt8] = []
        private var lastSegment: [UInt8] = []
        private var lastDeletion: StoreManifest.Deletion?
        private var looked = false

        init(_ deletions: [StoreManifest.SegmentName: StoreManifest.Deletion]) { self.deletions = deletions }

        mutating func covers(_ view: RecordView, position: UInt64) -> Bool {
            guard !view.isErased else { return false }
            let space = view.space
            let segment = view.segment
            if !looked || !Self.equal(space, lastSpace) || !Self.equal(segment, lastSegment) {
                lastSpace = Array(space)
                lastSegment = Array(segment)
                lastDeletion =
                    deletions[
                        StoreManifest.SegmentName(
                            space: String(decoding: space, as: UTF8.self),
                            segment: String(decoding: segment, as: UTF8.self))]
                looked = true
            }
            return lastDeletion?.hides(sequence: view.sequence, position: position) ?? false
        }

        /// Appends the records of `raw` (a block's, from `firstPosition`) to `records` with each covered one
        /// erased, adding every record written to `runs`; returns how many were erased.
        mutating func erase(
            _ raw: UnsafeRawBufferPointer, firstPosition: UInt64, into records: RawBuffer, runs: inout RunBuilder
        ) -> Int {
            var erased = 0
            BlockCodec.forEachRecord(raw, firstPosition: firstPosition) { view, position in
                records.reserve(view.size)
                let start = records.count
                if covers(view, position: position) {
                    RecordCodec.encodeErased(
                        at: records.tail, timestamp: view.timestamp, endsTransaction: view.endsTransaction)
                    records.count += RecordCodec.fixedSize
                    erased += 1
                } else {
                    records.tail.copyMemory(from: view.base, byteCount: view.size)
                    records.count += view.size
                }
                runs.add(RecordView(base: records.base + start))
            }
            return erased
        }

        private static func equal(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Bool {
            a.count == b.count && a.elementsEqual(b)
        }
    }
}
