import Foundation
import StreamKitLogFiles
import StreamKitTestSupport
import Synchronization
import Testing

@testable import StreamKitEngine

/// The acknowledgement batcher: many acknowledgements, few storage writes; deferred ones wait for the interval
/// (on the store's clock), durable ones do not.
struct ConsumerBookTests {
    @Test func deferredAcknowledgementsAreWrittenOnceWhenTheIntervalPasses() async throws {
        let clock = ManualClock()
        let storage = CountingStorage()
        _ = try await storage.recordConsumers([.create(Consumer(name: "c", target: .spaces(["s"])))])
        let book = ConsumerBook(storage: storage, clock: clock.engineClock, interval: .seconds(1))

        for position in UInt64(1)...1000 {
            try await book.acknowledge(
                "c", position: ConsumerPosition(offsets: ["s": Offset(position: position, timestamp: Int64(position))]),
                fencingToken: 0, time: 1, durable: false)
        }
        let writesBefore = storage.writes
        try await eventually { clock.sleeperCount == 1 }
        clock.advance(by: 1_000_000_000)
        try await eventually { storage.writes == writesBefore + 1 }
        let recorded = try await storage.consumers().first?.position.offset(of: "s").position

        #expect(writesBefore == 1)  // The creation only.
        #expect(recorded == 1000)
        #expect(await book.unrecorded().isEmpty)
    }

    @Test func durableAcknowledgementsDoNotWaitForTheInterval() async throws {
        let clock = ManualClock()
        let storage = CountingStorage()
        _ = try await storage.recordConsumers([.create(Consumer(name: "c", target: .spaces(["s"])))])
        let book = ConsumerBook(storage: storage, clock: clock.engineClock, interval: .seconds(3600))

        try await book.acknowledge(
            "c", position: ConsumerPosition(offsets: ["s": Offset(position: 5, timestamp: 5)]), fencingToken: 0,
            time: 1,
            durable: true)

        #expect(storage.writes == 2)
        #expect(try await storage.consumers().first?.position.offset(of: "s").position == 5)
    }

    @Test func aDeferredAcknowledgementTheStorageRefusesIsThrownToTheNextOne() async throws {
        let clock = ManualClock()
        let storage = CountingStorage()
        let book = ConsumerBook(storage: storage, clock: clock.engineClock, interval: .seconds(1))

        try await book.acknowledge("ghost", position: .start, fencingToken: 0, time: 1, durable: false)
        await book.flush()
        let next = await streamKitError {
            try await book.acknowledge("ghost", position: .start, fencingToken: 0, time: 1, durable: false)
        }

        #expect(next?.code == .notFound)
    }
}

/// A memory log that counts consumer writes.
final class CountingStorage: StoreStorage {
    private let base = MemoryStorage()
    private let count = Atomic(0)
    var writes: Int { count.load(ordering: .relaxed) }

    nonisolated(nonsending) func append(_ transaction: TransactionInput) async throws -> CommittedTransaction {
        try await base.append(transaction)
    }
    func blockIndex(containing position: UInt64) -> Int? { base.blockIndex(containing: position) }
    func block(at index: Int) -> LogBlock? { base.block(at: index) }
    func readBlock(at index: Int) throws -> [Entry] { try base.readBlock(at: index) }
    func takeSealedBlocks() -> [SealedBlock] { base.takeSealedBlocks() }
    func flush() async throws { try await base.flush() }
    func close() async { await base.close() }
    func consumers() async throws -> [Consumer] { try await base.consumers() }
    func recordConsumers(_ changes: [ConsumerChange]) async throws -> [Result<Consumer?, StreamKitError>] {
        count.add(1, ordering: .relaxed)
        return try await base.recordConsumers(changes)
    }
}
