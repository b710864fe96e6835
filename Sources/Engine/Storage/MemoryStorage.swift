public import StreamKitLogFiles
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A store's log in memory, for tests and ephemeral stores: the same positions and timestamps as the file log,
/// entries kept as they are in blocks of a fixed count, nothing on disk.
public final class MemoryStorage: StoreStorage {
    private struct State {
        var entries: [[Entry]] = []
        var blocks: [LogBlock] = []
        var open: [Entry] = []
        var fresh: [SealedBlock] = []
        var nextPosition: UInt64 = 1
        var lastTimestamp: Int64 = 0
        var closed = false
        var policy: LogRetention.Policy?
        var consumers = ConsumerTable()
    }

    private let state = Mutex(State())
    private let entriesPerBlock: Int
    private let clock: @Sendable () -> Int64

    /// Creates an empty log.
    /// - Parameters:
    ///   - entriesPerBlock: Entries per sealed block (default 256, like a 64 KiB block of 256-byte records).
    ///   - clock: Wall-clock nanoseconds for timestamps (default: the system clock).
    public init(entriesPerBlock: Int = 256, clock: (@Sendable () -> Int64)? = nil) {
        self.entriesPerBlock = max(1, entriesPerBlock)
        self.clock = clock ?? LogConfiguration().clock
    }

    public nonisolated(nonsending) func append(_ transaction: TransactionInput) async throws -> CommittedTransaction {
        guard !transaction.records.isEmpty else {
            throw LogFilesError(code: .invalidArgument, message: "a transaction needs at least one record")
        }
        let now = clock()
        return try state.withLock { state in
            guard !state.closed else { throw LogFilesError(code: .closed, message: "the log is closed") }
            let first = state.nextPosition
            let timestamp = max(now, state.lastTimestamp + 1)
            let last = transaction.records.count - 1
            for (i, record) in transaction.records.enumerated() {
                state.open.append(
                    Entry(
                        position: first + UInt64(i), space: transaction.space, segment: transaction.segment,
                        sequence: record.sequence, timestamp: timestamp + Int64(i),
                        transactionID: transaction.transactionID, transactionNumber: transaction.transactionNumber,
                        endsTransaction: i == last, payload: Payload(record.payload), metadata: record.metadata))
                if state.open.count == entriesPerBlock { Self.seal(&state) }
            }
            state.nextPosition += UInt64(transaction.records.count)
            state.lastTimestamp = timestamp + Int64(last)
            return CommittedTransaction(
                firstPosition: first, count: transaction.records.count, firstTimestamp: timestamp)
        }
    }

    private static func seal(_ state: inout State) {
        guard !state.open.isEmpty else { return }
        let sealed = SealedBlock(entries: state.open)
        state.entries.append(state.open)
        state.blocks.append(sealed.block)
        state.fresh.append(sealed)
        state.open.removeAll(keepingCapacity: true)
    }

    public func blockIndex(containing position: UInt64) -> Int? {
        state.withLock { state in
            let index = state.blocks.partitioningIndex { $0.lastPosition >= position }
            return index < state.blocks.count ? index : nil
        }
    }

    public func block(at index: Int) -> LogBlock? {
        state.withLock { $0.blocks.indices.contains(index) ? $0.blocks[index] : nil }
    }

    public func readBlock(at index: Int) throws -> [Entry] {
        try state.withLock { state in
            guard state.entries.indices.contains(index) else {
                throw LogFilesError(code: .invalidArgument, message: "no block \(index)")
            }
            return state.entries[index]
        }
    }

    public func takeSealedBlocks() -> [SealedBlock] {
        state.withLock { state in
            defer { state.fresh.removeAll() }
            return state.fresh
        }
    }

    public func flush() async throws { state.withLock { Self.seal(&$0) } }
    /// Nothing to record: the store keeps its deletions in memory as long as this log lives.
    public func recordDeletions(_ deletions: [StoreManifest.Deletion]) async throws {}
    public func retentionPolicy() async throws -> LogRetention.Policy? { state.withLock { $0.policy } }
    /// Kept in memory (it goes with the storage).
    public func recordRetentionPolicy(_ policy: LogRetention.Policy?) async throws {
        state.withLock { $0.policy = policy }
    }
    public func consumers() async throws -> [Consumer] { state.withLock { $0.consumers.sorted } }
    public func recordConsumers(_ changes: [ConsumerChange]) async throws -> [Result<Consumer?, StreamKitError>] {
        state.withLock { state in changes.map { state.consumers.apply($0) } }
    }

    public func close() async {
        state.withLock { state in
            Self.seal(&state)
            state.closed = true
        }
    }
}
