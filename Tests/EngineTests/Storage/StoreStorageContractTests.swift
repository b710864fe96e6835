import Foundation
import StreamKitLogFiles
import StreamKitTestSupport
import Testing

@testable import StreamKitEngine
@testable import StreamKitPostgres

/// The storage seam's contract, checked on each storage directly (below the store): what `append` returns, how
/// sealed blocks tile the log, and that every block reads back as the entries it claims to hold.
@Suite("StoreStorage contract")
struct StoreStorageContractTests {
    /// A storage opened on `backend`, what it held, and how to open it again (nil for memory) and clean up.
    struct Opened {
        var storage: any StoreStorage
        var contents: StoredLog
        var reopen: (@Sendable () async throws -> (any StoreStorage, StoredLog))?
        var cleanUp: @Sendable () -> Void
    }

    static func open(_ backend: Backend) async throws -> Opened {
        switch backend {
        case .memory:
            return Opened(storage: MemoryStorage(entriesPerBlock: 16), contents: .empty, reopen: nil, cleanUp: {})
        case .file:
            let directory = NSTemporaryDirectory() + "streamkit-contract-" + UUID().uuidString
            let configuration = StoreFixture.quiet().log
            let open: @Sendable () async throws -> (any StoreStorage, StoredLog) = {
                let (storage, contents) = try FileStorage.open(directory: directory, configuration: configuration)
                return (storage, contents)
            }
            let (storage, contents) = try await open()
            return Opened(
                storage: storage, contents: contents, reopen: open,
                cleanUp: { try? FileManager.default.removeItem(atPath: directory) })
        case .postgres:
            let log = try await TestPostgres.log()
            let id = UUID()
            let open: @Sendable () async throws -> (any StoreStorage, StoredLog) = {
                let opened = try await PostgresStorage.open(
                    id: id, log: log, configuration: StoreFixture.quiet(), creating: true)
                let (storage, contents) = try #require(opened)
                return (storage, contents)
            }
            let (storage, contents) = try await open()
            return Opened(storage: storage, contents: contents, reopen: open, cleanUp: {})
        }
    }

    /// 60 transactions of 1–7 records, spread round-robin over three segments of two spaces.
    static func appendMixedTransactions(to storage: any StoreStorage) async throws -> [TransactionInput] {
        let keys = [("orders", "a"), ("orders", "b"), ("users", "a")]
        var next = [UInt64](repeating: 1, count: keys.count)
        var appended: [TransactionInput] = []
        for i in 0..<60 {
            let k = i % keys.count
            let records = (0..<(1 + i % 7)).map { j in
                Record(
                    sequence: next[k] + UInt64(j), payload: Array("payload \(i).\(j)".utf8),
                    metadata: j == 0 ? ["n": "\(i)"] : [:])
            }
            next[k] += UInt64(records.count)
            let transaction = TransactionInput(
                space: keys[k].0, segment: keys[k].1, transactionID: UUID(),
                transactionNumber: UInt64(i / keys.count + 1),
                records: records)
            _ = try await storage.append(transaction)
            appended.append(transaction)
        }
        return appended
    }

    /// Block `index`'s entries, loading it first when the storage asks for that.
    static func entries(of storage: any StoreStorage, block index: Int) async throws -> [Entry] {
        do { return try storage.readBlock(at: index) } catch is BlockNotLoaded {
            try await storage.loadBlocks(from: index)
            return try storage.readBlock(at: index)
        }
    }

    @Test(
        "appends get dense positions in call order and sealed blocks tile them, each read back as the entries it summarises",
        arguments: Backend.allCases)
    func sealedBlocksTileTheLog(_ backend: Backend) async throws {
        let opened = try await Self.open(backend)
        defer { opened.cleanUp() }
        let storage = opened.storage

        let appended = try await Self.appendMixedTransactions(to: storage)
        try await storage.flush()
        let sealed = storage.takeSealedBlocks()

        let total = appended.reduce(0) { $0 + $1.records.count }
        #expect(sealed.first?.block.firstPosition == 1)
        #expect(sealed.last?.block.lastPosition == UInt64(total))
        var entries: [Entry] = []
        for (index, summary) in sealed.enumerated() {
            #expect(storage.block(at: index) == summary.block)
            #expect(storage.blockIndex(containing: summary.block.firstPosition) == index)
            #expect(storage.blockIndex(containing: summary.block.lastPosition) == index)
            let read = try await Self.entries(of: storage, block: index)
            #expect(read.map(\.position) == Array(summary.block.firstPosition...summary.block.lastPosition))
            #expect(SealedBlock(entries: read).runs == summary.runs, "block \(index)'s runs describe its entries")
            entries += read
        }
        #expect(storage.block(at: sealed.count) == nil)
        #expect(storage.takeSealedBlocks().isEmpty, "each sealed block is reported once")
        let expected = appended.flatMap { t in t.records.map { (t.space, t.segment, $0.sequence, $0.payload) } }
        #expect(entries.count == expected.count)
        for (entry, want) in zip(entries, expected) {
            #expect(
                entry.space == want.0 && entry.segment == want.1 && entry.sequence == want.2
                    && Array(entry.payload) == want.3)
        }
        #expect(
            zip(entries, entries.dropFirst()).allSatisfy { $0.timestamp < $1.timestamp }, "timestamps strictly increase"
        )
        await storage.close()
    }

    @Test(
        "a reopened storage holds what was appended: its sealed blocks and tail cover every position, and the next one follows",
        arguments: [Backend.file, .postgres])
    func reopenedStorageHoldsTheLog(_ backend: Backend) async throws {
        let opened = try await Self.open(backend)
        defer { opened.cleanUp() }
        let appended = try await Self.appendMixedTransactions(to: opened.storage)
        await opened.storage.close()
        let total = UInt64(appended.reduce(0) { $0 + $1.records.count })

        let reopen = try #require(opened.reopen)
        let (storage, contents) = try await reopen()

        #expect(contents.nextPosition == total + 1)
        var position: UInt64 = 1
        for sealed in contents.blocks {
            #expect(sealed.block.firstPosition == position)
            position = sealed.block.lastPosition + 1
        }
        #expect(contents.tail.map(\.position) == Array(position..<(total + 1)))
        var perSegment: [String: Int] = [:]
        for run in contents.blocks.flatMap(\.runs) {
            perSegment[run.space + "/" + run.segment, default: 0] += run.count
        }
        for entry in contents.tail { perSegment[entry.space + "/" + entry.segment, default: 0] += 1 }
        var appendedPerSegment: [String: Int] = [:]
        for t in appended { appendedPerSegment[t.space + "/" + t.segment, default: 0] += t.records.count }
        #expect(perSegment == appendedPerSegment)
        await storage.close()
    }
}
