import Synchronization

extension LogWriter {
    /// What ``compactDeletions(pace:)`` did while the writer runs.
    public struct CompactionPass: Sendable {
        /// Files rewritten, entries erased, bytes; ``LogCompaction/Outcome/finishedDeletions`` lists the
        /// deletions no log file holds any more: drop them with ``finishDeletions(_:retired:)`` once the caller
        /// knows which of their segments have no entry left.
        public var outcome = LogCompaction.Outcome()
        /// The sealed blocks rewritten, file by file (a reader's cache of them holds erased entries' bytes).
        public var rewritten: [RewrittenBlocks] = []

        /// Nothing done.
        public init() {}
    }

    /// Blocks rewritten together (one log file, or one row of another storage).
    public struct RewrittenBlocks: Sendable {
        /// Their indexes (unchanged by the rewrite).
        public var indexes: Range<Int>
        /// What each holds now, in order (erased records are a run with empty names).
        public var runs: [[SegmentRun]]

        /// Describes rewritten blocks.
        public init(indexes: Range<Int>, runs: [[SegmentRun]]) {
            self.indexes = indexes
            self.runs = runs
        }
    }

    /// Erases the entries the manifest's deletions cover from the sealed log files, while the writer runs: each
    /// such file is rewritten (``LogCompaction``) and put in place of the old one; readers switch to it between
    /// two block reads. The file being appended to is left for a later pass (once the log rolls past it), as are
    /// entries not sealed yet. One compaction runs at a time: a call while another runs returns at once.
    ///
    /// - Parameter pace: Called with the bytes read or written after each block, on the caller's thread: it may
    ///   sleep to bound the rate, or throw to stop (the file being rewritten stays as it was).
    /// - Returns: What was done; nothing when there is no deletion.
    /// - Throws: `LogFilesError` — `.corrupt` for a damaged block (that file is left as it was), `.io`.
    public func compactDeletions(pace: (Int) throws -> Void = { _ in }) throws -> CompactionPass {
        guard compacting.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return CompactionPass() }
        defer { compacting.store(false, ordering: .releasing) }
        let deletions = self.deletions
        guard let lastCovered = deletions.map(\.through).max() else { return CompactionPass() }
        let fileSystem = configuration.fileSystem
        // The file with the highest number is the one being appended to (or about to be): left alone.
        let onDisk = StoreLayout.numbers(in: try fileSystem.list(layout.logDirectory), extension: "log")
        guard let active = onDisk.last else { return CompactionPass() }
        let byName = Dictionary(deletions.map { (StoreManifest.SegmentName(space: $0.space, segment: $0.segment), $0) })
        { $1 }

        var pass = CompactionPass()
        for file in readIndex.files() where file.first < active && file.first <= lastCovered {
            let blocks = readIndex.blocks(ofFile: file.first)
            guard
                let rewrite = try LogCompaction.rewrite(
                    file: file.first,
                    blocks: blocks.map { .init(header: $0.location.header, offset: $0.location.offset) },
                    deletions: byName, fileSystem: fileSystem, layout: layout, compress: configuration.compression,
                    createdAt: configuration.clock(), pace: pace)
            else {
                pass.outcome.readBytes += Int64(
                    blocks.reduce(0) { $0 + BlockHeader.size + $1.location.header.storedLength })
                continue
            }
            pass.outcome.readBytes += rewrite.readBytes
            // Under the manifest's lock, so that retention does not drop the file meanwhile.
            let replaced = try manifest.withLock { _ -> Range<Int>? in
                guard readIndex.blocks(ofFile: file.first).map(\.location.offset) == blocks.map(\.location.offset)
                else {
                    try? fileSystem.remove(layout.logPath(firstPosition: file.first) + LogCompaction.temporarySuffix)
                    try? fileSystem.remove(layout.indexPath(firstPosition: file.first) + LogCompaction.temporarySuffix)
                    return nil  // Dropped by retention meanwhile.
                }
                _ = try readIndex.file(file.first)  // Readers keep the old file until the blocks move.
                try LogCompaction.install(rewrite, fileSystem: fileSystem, layout: layout)
                let opened = try fileSystem.open(layout.logPath(firstPosition: file.first), mode: .read)
                return readIndex.replace(file: file.first, with: rewrite.blocks, opened: opened)
            }
            guard let replaced else { continue }
            pass.rewritten.append(RewrittenBlocks(indexes: replaced, runs: rewrite.blocks.map(\.runs)))
            pass.outcome.rewrittenFiles += 1
            pass.outcome.erasedEntries += rewrite.erased
            pass.outcome.reclaimedBytes += rewrite.oldBytes - rewrite.newBytes
        }
        // Every position before the active file is sealed in a file this pass went through.
        pass.outcome.finishedDeletions = deletions.filter { $0.through < active }
        return pass
    }

    /// Drops `finished` deletions (no log file holds what they cover: ``compactDeletions(pace:)``) from the
    /// manifest, recording `retired`, the heads of their segments with no entry left (producing to them continues
    /// after their last sequence, also after a restart). A deletion merged into a later one since is kept.
    ///
    /// First the WAL is scrubbed (``checkpoint(scrub:)``): its files may still hold the erased entries' frames,
    /// in files not dropped yet or in space kept for reuse; so once a deletion is dropped its entries' bytes are
    /// gone from every file of the store.
    ///
    /// - Throws: `LogFilesError.io` when the manifest cannot be written (then nothing changed), or the
    ///   checkpoint's error (the deletions stay).
    public func finishDeletions(
        _ finished: [StoreManifest.Deletion], retired: [StoreManifest.RetiredSegment]
    ) async throws {
        guard !finished.isEmpty else { return }
        try await checkpoint(scrub: true)
        try manifest.withLock { current in
            let done = Set(finished)
            let kept = current.deletions.filter { !done.contains($0) }
            var heads = Dictionary(
                current.retired.map { (StoreManifest.SegmentName(space: $0.space, segment: $0.segment), $0) }
            ) { $1 }
            for head in retired { heads[StoreManifest.SegmentName(space: head.space, segment: head.segment)] = head }
            let next = StoreManifest(
                logStart: current.logStart, retired: Array(heads.values), deletions: kept, policy: current.policy)
            guard next != current else { return }
            try next.write(fileSystem: configuration.fileSystem, layout: layout, createdAt: configuration.clock())
            current = next
        }
    }
}
