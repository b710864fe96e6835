/// Work on a store that no writer has open (offline retention, truncation and compaction): takes the store's lock,
/// removes what an interrupted compaction left, and recovers it as opening would.
enum ClosedStore {
    /// Runs `body` with the store's layout and what recovery found, holding the store's lock until it returns.
    ///
    /// - Throws: `LogFilesError` — `.notAStore` when `directory` holds no store, `.storeLocked` when a writer has it
    ///   open, `.corrupt`, `.io`; or what `body` throws.
    static func withLock<Result>(
        directory: String, configuration: LogConfiguration, _ body: (StoreLayout, Recovery.Outcome) throws -> Result
    ) throws -> Result {
        let layout = StoreLayout(root: directory)
        let fileSystem = configuration.fileSystem
        guard fileSystem.isDirectory(layout.logDirectory) else {
            throw LogFilesError.notAStore(directory, "no log directory")
        }
        let lock = try StoreLock(path: layout.lockPath)
        defer { lock.release() }
        try LogCompaction.removeLeftovers(fileSystem: fileSystem, layout: layout)
        let recovered = try Recovery(fileSystem: fileSystem, layout: layout, configuration: configuration).run()
        return try body(layout, recovered)
    }

    /// The segments with entries in `blocks` or in the unsealed tail `recovered` found (erased records aside).
    static func segments(
        in blocks: some Sequence<BlockSummary>, tail recovered: Recovery.Outcome
    ) -> Set<StoreManifest.SegmentName> {
        var names = Set<StoreManifest.SegmentName>()
        for block in blocks {
            for run in block.runs where !run.space.isEmpty {
                names.insert(StoreManifest.SegmentName(space: run.space, segment: run.segment))
            }
        }
        BlockCodec.forEachRecord(recovered.tailRecords.bytes, firstPosition: recovered.tailFirstPosition) { view, _ in
            names.insert(
                StoreManifest.SegmentName(
                    space: String(decoding: view.space, as: UTF8.self),
                    segment: String(decoding: view.segment, as: UTF8.self)))
        }
        return names
    }
}
