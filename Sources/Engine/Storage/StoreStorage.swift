public import StreamKitLogFiles

/// The log behind a store, in the engine's terms: append a transaction (if the segment's last sequence is still
/// the one before it), read the entries of a stretch of positions (a ``LogBlock``), learn about commits other
/// writers made (``follower``), and tell the index which segments each sealed block holds (``SealedBlock``, and
/// ``StoredLog`` when the store opens). StreamKit ships a file log (``FileStorage``, LogFiles' LZ4 block log), an
/// in-memory log (``MemoryStorage``) and a log in PostgreSQL shared by several processes (`PostgresStorage`,
/// module StreamKitPostgres); all pass the same behavioural test suites. How a storage keeps its blocks
/// (compression, checksums, files, rows) stays behind this protocol.
///
/// Contract:
/// - `append` assigns consecutive positions and strictly increasing timestamps and returns once the
///   transaction is committed per the storage's durability. A single-writer storage assigns them in call order.
/// - **Compare-and-append**: a transaction's first record follows the segment's last sequence. The engine
///   checks this for its own writes before it appends; a storage shared with other writers (``follower`` not
///   nil) must check it again where it commits and throw ``SegmentHeadConflict`` (appending nothing) when the
///   segment's last sequence in the log is not the first sequence - 1.
/// - **Fail-stop** (single-writer storages): once an append fails, every append issued after it fails too. (The
///   engine reserves a segment's sequences before awaiting an append; this rule means a failed reservation can
///   never leave a gap under a later one. A shared storage's compare-and-append gives the same guarantee.)
/// - Positions are dense: every position up to the last one returned is committed, by this process or (shared
///   logs) by another, which the ``follower`` reports.
/// - Committed entries are sealed into blocks in position order; each sealed block is reported once by
///   ``takeSealedBlocks()`` and is then found by ``blockIndex(containing:)`` and read by ``readBlock(at:)``. Until
///   then the store serves the entries from its own decoded tail.
/// - Block lookups and reads are thread-safe, may be called from any task and never block on the network.
public protocol StoreStorage: Sendable {
    /// Appends one transaction. Runs on the caller's executor until it suspends (`nonisolated(nonsending)`), so a
    /// storage that queues appends sees them in the order the segment actor reserved their sequences.
    nonisolated(nonsending) func append(_ transaction: TransactionInput) async throws -> CommittedTransaction
    /// Index of the sealed block holding `position`, or of the first one after it; nil when none does.
    func blockIndex(containing position: UInt64) -> Int?
    /// Sealed block `index` (0-based, log order); nil past the last one.
    func block(at index: Int) -> LogBlock?
    /// The entries of sealed block `index`, in position order. A storage that must wait for the network to read
    /// a block throws ``BlockNotLoaded`` instead of blocking; the reader then awaits
    /// ``StoreStorage/loadBlocks(from:)``.
    func readBlock(at index: Int) throws -> [Entry]
    /// Fetches block `index` (and, as the storage sees fit, blocks after it) so that
    /// ``StoreStorage/readBlock(at:)`` can return them; only storages that throw ``BlockNotLoaded`` need it.
    func loadBlocks(from index: Int) async throws
    /// Whether ``StoreStorage/verifyBlock(at:)`` checks bytes that can rot (files); the background scrub runs only
    /// then.
    var verifiesBlocks: Bool { get }
    /// Re-reads sealed block `index` from where it is kept and checks it as a reader would, without building
    /// entries; returns the bytes read. Throws `LogFilesError.corrupt` (with the file and offset) on damage.
    func verifyBlock(at index: Int) throws -> Int
    /// Blocks sealed since the last call (or since the storage was opened), in log order.
    func takeSealedBlocks() -> [SealedBlock]
    /// Seals what is pending and makes everything durable (a checkpoint).
    func flush() async throws
    /// Commits what is pending and releases the storage; later appends fail.
    func close() async
    /// How the store learns about other writers' commits; nil when this storage is its log's only writer.
    var follower: (any LogFollower)? { get }
    /// Leases and worker presence shared with the other processes that open the store; nil keeps them in the
    /// store's memory.
    var coordination: (any SharedCoordination)? { get }
    /// Retention: the position the log would start at if `policy` were applied at `now` (ns since the epoch) —
    /// the first position of the oldest sealed block to keep; nil when nothing may go or the storage does not
    /// drop entries.
    func retentionStart(_ policy: LogRetention.Policy, now: Int64) async throws -> UInt64?
    /// The store's own retention policy as recorded with its log (nil: the configured default applies).
    func retentionPolicy() async throws -> LogRetention.Policy?
    /// The deletions recorded with the log whose entries compaction has not erased yet (the tombstones).
    func deletions() async throws -> [StoreManifest.Deletion]
    /// Records the store's own retention policy durably with its log (nil: back to the configured default).
    func recordRetentionPolicy(_ policy: LogRetention.Policy?) async throws
    /// Drops every entry before `logStart` (a position ``StoreStorage/retentionStart(_:now:)`` gave) and records
    /// `retired`, the heads of segments with no entry left, so that they continue after them when the store reopens.
    /// Blocks before `logStart` are then no longer found; indexes of the others do not change.
    func dropEntries(
        before logStart: UInt64, retired: [StoreManifest.RetiredSegment]
    ) async throws
        -> LogRetention.Outcome
    /// Records deletions durably, all at once, before returning (the store then leaves their entries out of every
    /// read, also after it reopens: ``StoredLog/deletions``). Throws `StreamKitError` `.unsupported` when the
    /// storage cannot delete.
    func recordDeletions(_ deletions: [StoreManifest.Deletion]) async throws
    /// Compaction: erases the entries recorded deletions cover from where the storage keeps them (blocking I/O;
    /// `pace` is called with the bytes read or written as it goes). Blocks it rewrites keep their indexes.
    func compactDeletions(pace: (Int) throws -> Void) async throws -> LogWriter.CompactionPass
    /// Whether ``StoreStorage/compactDeletions(pace:)`` does anything (the background compaction runs only then).
    var compactsDeletions: Bool { get }
    /// Forgets `finished` deletions (compaction erased all they cover), recording `retired`, the heads of their
    /// segments with no entry left.
    func finishDeletions(_ finished: [StoreManifest.Deletion], retired: [StoreManifest.RetiredSegment]) async throws
    /// The store's durable consumers as recorded with its log (read by every node of a shared log).
    func consumers() async throws -> [Consumer]
    /// Records consumer changes durably, in order, before returning; each one's outcome follows ``ConsumerTable``'s
    /// rules (a refused change records nothing). Throws `StreamKitError` `.unsupported` when the storage cannot keep
    /// consumers, and storage errors (then none of the changes is recorded).
    func recordConsumers(_ changes: [ConsumerChange]) async throws -> [Result<Consumer?, StreamKitError>]
}

extension StoreStorage {
    /// Storages that keep nothing that can rot have nothing to scrub.
    public var verifiesBlocks: Bool { false }
    /// Nothing to check: returns 0.
    public func verifyBlock(at index: Int) throws -> Int { 0 }
    /// A single writer: nothing to follow.
    public var follower: (any LogFollower)? { nil }
    /// Blocks are read where they are: nothing to load.
    public func loadBlocks(from index: Int) async throws {}
    /// Leases and presence in the store's memory.
    public var coordination: (any SharedCoordination)? { nil }
    /// This storage keeps every entry.
    public func retentionStart(_ policy: LogRetention.Policy, now: Int64) async throws -> UInt64? { nil }
    /// No policy of its own.
    public func retentionPolicy() async throws -> LogRetention.Policy? { nil }
    /// Nothing recorded with the log.
    public func deletions() async throws -> [StoreManifest.Deletion] { [] }
    /// This storage cannot keep a policy: throws `unsupported`.
    public func recordRetentionPolicy(_ policy: LogRetention.Policy?) async throws {
        throw StreamKitError(code: .unsupported, message: "this store's storage cannot keep a retention policy")
    }
    /// This storage keeps every entry: nothing is dropped.
    public func dropEntries(
        before logStart: UInt64, retired: [StoreManifest.RetiredSegment]
    ) async throws
        -> LogRetention.Outcome
    {
        LogRetention.Outcome()
    }
    /// This storage cannot delete entries: throws `unsupported`.
    public func recordDeletions(_ deletions: [StoreManifest.Deletion]) async throws {
        throw StreamKitError(code: .unsupported, message: "this store's storage cannot delete entries")
    }
    /// Nothing kept on disk to erase: does nothing.
    public func compactDeletions(pace: (Int) throws -> Void) async throws -> LogWriter.CompactionPass {
        LogWriter.CompactionPass()
    }
    /// Nothing to compact.
    public var compactsDeletions: Bool { false }
    /// Nothing recorded: does nothing.
    public func finishDeletions(
        _ finished: [StoreManifest.Deletion], retired: [StoreManifest.RetiredSegment]
    ) async throws {}
    /// No consumers kept.
    public func consumers() async throws -> [Consumer] { [] }
    /// This storage cannot keep consumers: throws `unsupported`.
    public func recordConsumers(_ changes: [ConsumerChange]) async throws -> [Result<Consumer?, StreamKitError>] {
        throw StreamKitError(code: .unsupported, message: "this store's storage cannot keep durable consumers")
    }
}
