public import StreamKitLogFiles

/// A store's log in files: LogFiles' LZ4 block log with a write-ahead file and group commit. Appends go to the
/// log's writer; reads go to its sealed blocks directly, never through the writer.
public final class FileStorage: StoreStorage {
    private let writer: LogWriter
    private let blocks: SealedBlocks
    private let consumerFile: ConsumerFile

    /// Opens (creating if needed) the log in `directory`, recovering it first.
    /// - Returns: The storage and what it holds (the engine builds its index from it).
    /// - Throws: `LogFilesError` (`storeLocked`, `corrupt`, `io` …).
    public static func open(directory: String, configuration: LogConfiguration) throws -> (FileStorage, StoredLog) {
        // Read before the writer takes the store's lock: the file is only ever replaced whole (rename), and an open
        // that then fails on the lock has not used it.
        let consumers = try ConsumerFile(
            path: StoreLayout(root: directory).consumersPath, fileSystem: configuration.fileSystem)
        let opened = try LogWriter.open(directory: directory, configuration: configuration)
        let recovery = opened.recovery
        let contents = StoredLog(
            blocks: recovery.blocks.map(SealedBlock.init), tail: recovery.tail, nextPosition: recovery.nextPosition,
            lastTimestamp: recovery.lastTimestamp, retired: recovery.manifest.retired,
            logStart: recovery.manifest.logStart, deletions: recovery.manifest.deletions)
        return (FileStorage(writer: opened.writer, consumers: consumers), contents)
    }

    private init(writer: LogWriter, consumers: ConsumerFile) {
        self.writer = writer
        self.blocks = writer.sealedBlocks
        self.consumerFile = consumers
    }

    public nonisolated(nonsending) func append(_ transaction: TransactionInput) async throws -> CommittedTransaction {
        try await writer.append(transaction)
    }

    public func blockIndex(containing position: UInt64) -> Int? { blocks.index(containing: position) }
    public func block(at index: Int) -> LogBlock? { blocks.header(at: index).map(LogBlock.init) }
    public func readBlock(at index: Int) throws -> [Entry] { try blocks.read(at: index) }
    /// Block `index` as stored in its file, unchecked (see ``StoredBlock``).
    package func storedBlock(at index: Int) throws -> StoredBlock { try blocks.stored(at: index) }
    public var verifiesBlocks: Bool { true }
    public func verifyBlock(at index: Int) throws -> Int { try blocks.verify(at: index) }
    public func takeSealedBlocks() -> [SealedBlock] { blocks.takeFresh().map(SealedBlock.init) }
    public func flush() async throws { try await writer.checkpoint() }
    public func retentionStart(_ policy: LogRetention.Policy, now: Int64) async throws -> UInt64? {
        writer.retentionStart(policy, now: now)
    }
    public func dropEntries(
        before logStart: UInt64, retired: [StoreManifest.RetiredSegment]
    ) async throws
        -> LogRetention.Outcome
    {
        try writer.dropLogFiles(before: logStart, retired: retired)
    }
    public func recordDeletions(_ deletions: [StoreManifest.Deletion]) async throws {
        try writer.recordDeletions(deletions)
    }
    public func retentionPolicy() async throws -> LogRetention.Policy? { writer.retentionPolicy }
    public func deletions() async throws -> [StoreManifest.Deletion] { writer.deletions }
    public func recordRetentionPolicy(_ policy: LogRetention.Policy?) async throws {
        try writer.setRetentionPolicy(policy)
    }
    public var compactsDeletions: Bool { true }
    public func compactDeletions(pace: (Int) throws -> Void) async throws -> LogWriter.CompactionPass {
        try writer.compactDeletions(pace: pace)
    }
    public func finishDeletions(
        _ finished: [StoreManifest.Deletion], retired: [StoreManifest.RetiredSegment]
    ) async throws {
        try await writer.finishDeletions(finished, retired: retired)
    }
    public func consumers() async throws -> [Consumer] { consumerFile.consumers }
    public func recordConsumers(_ changes: [ConsumerChange]) async throws -> [Result<Consumer?, StreamKitError>] {
        try consumerFile.record(changes)
    }
    public func close() async { await writer.close() }
}

extension LogBlock {
    /// The block a file block header describes.
    init(_ header: BlockHeader) {
        self.init(
            firstPosition: header.firstPosition, lastPosition: header.lastPosition,
            storedBytes: BlockHeader.size + header.storedLength)
    }
}

extension SealedBlock {
    /// The summary of a sealed file block.
    init(_ summary: BlockSummary) { self.init(block: LogBlock(summary.header), runs: summary.runs) }
}
