public import StreamKitLogFiles

/// The log behind a store: appends transactions and serves sealed blocks. StreamKit ships a file log
/// (``FileStorage``, LogFiles) and an in-memory log (``MemoryStorage``); both pass the same behavioural
/// test suite.
///
/// Contract:
/// - `append` assigns consecutive positions and strictly increasing timestamps in call order and returns
///   once the transaction is committed per the storage's durability.
/// - **Fail-stop**: once an append fails, every append issued after it fails too. (The engine reserves a
///   segment's sequences before awaiting an append; this rule means a failed reservation can never leave a
///   gap under a later one.)
/// - Block reads and lookups are thread-safe and may be called from any task.
public protocol StoreStorage: Sendable {
    /// Appends one transaction.
    func append(_ transaction: TransactionInput) async throws -> CommittedTransaction
    /// Index of the sealed block holding `position`, or of the first one after it; nil when none does.
    func blockIndex(containing position: UInt64) -> Int?
    /// The header of sealed block `index`.
    func blockHeader(at index: Int) -> BlockHeader?
    /// The entries of sealed block `index`, in position order.
    func readBlock(at index: Int) throws -> [Entry]
    /// Whether ``verifyBlock(at:)`` checks bytes that can rot (files); the background scrub runs only then.
    var verifiesBlocks: Bool { get }
    /// Re-reads sealed block `index` from where it is kept and checks it as a reader would, without building
    /// entries; returns the bytes read. Throws `LogFilesError.corrupt` (with the file and offset) on damage.
    func verifyBlock(at index: Int) throws -> Int
    /// Summaries of blocks sealed since the last call, in order.
    func takeSealedBlocks() -> [BlockSummary]
    /// Seals what is pending and makes everything durable (a checkpoint).
    func flush() async throws
    /// Commits what is pending and releases the storage; later appends fail.
    func close() async
}

extension StoreStorage {
    /// Storages that keep nothing that can rot have nothing to scrub.
    public var verifiesBlocks: Bool { false }
    /// Nothing to check: returns 0.
    public func verifyBlock(at index: Int) throws -> Int { 0 }
}
