public import StreamKitLogFiles

/// A store's log in files: LogFiles' LZ4 block log with a write-ahead file and group commit.
public final class FileStorage: StoreStorage {
    private let writer: LogWriter

    /// Opens (creating if needed) the log in `directory`, recovering it first.
    /// - Returns: The storage and what recovery found (the engine builds its index from it).
    /// - Throws: `LogFilesError` (`storeLocked`, `corrupt`, `io` …).
    public static func open(directory: String, configuration: LogConfiguration) throws -> (FileStorage, RecoveryResult) {
        let opened = try LogWriter.open(directory: directory, configuration: configuration)
        return (FileStorage(writer: opened.writer), opened.recovery)
    }

    private init(writer: LogWriter) { self.writer = writer }

    public nonisolated(nonsending) func append(_ transaction: TransactionInput) async throws -> CommittedTransaction {
        try await writer.append(transaction)
    }

    public func blockIndex(containing position: UInt64) -> Int? { writer.blockIndex(containing: position) }
    public func blockHeader(at index: Int) -> BlockHeader? { writer.blockHeader(at: index) }
    public func readBlock(at index: Int) throws -> [Entry] { try writer.readBlock(at: index) }
    public var verifiesBlocks: Bool { true }
    public func verifyBlock(at index: Int) throws -> Int { try writer.verifyBlock(at: index) }
    public func takeSealedBlocks() -> [BlockSummary] { writer.takeSealedBlocks() }
    public func flush() async throws { try await writer.checkpoint() }
    public func close() async { await writer.close() }
}
