import Foundation
import StreamKitLogFiles
import StreamKitPostgres
import Testing

@testable import StreamKitEngine

/// Deleting a segment or its entries before a sequence: gone for every read at once and after a restart,
/// sequences never reused, offsets still valid, and the record of the deletion bounded.
struct DeletionTests {
    /// Segments "gone" and "kept" interleaved transaction by transaction in space "s" (so blocks hold both), with
    /// small blocks and files, the last transactions still in the tail.
    private static func interleaved(_ store: Store, transactions: Int = 30, size: UInt64 = 10) async throws {
        for t in 0..<UInt64(transactions) {
            let range = (t * size + 1)...(t * size + size)
            try await store.produce(space: "s", segment: "gone", records: records(range, tag: "gone"))
            try await store.produce(space: "s", segment: "kept", records: records(range, tag: "kept"))
        }
    }

    private static func smallBlocks() -> StoreConfiguration {
        var configuration = StoreFixture.quiet()
        configuration.log.blockBytes = 1024
        configuration.log.logFileBytes = 8 * 1024
        return configuration
    }

    @Test(arguments: Backend.allCases)
    func aDeletedSegmentIsGoneFromEveryReadListingAndStatus(_ backend: Backend) async throws {
        try await withStore(backend, configuration: Self.smallBlocks()) { fixture in
            let store = fixture.store
            try await Self.interleaved(store)

            let deleted = try await store.deleteSegment(space: "s", segment: "gone")

            let segment = try await store.consumeSegment(space: "s", segment: "gone").collect()
            let space = try await store.consumeSpace(space: "s").collect()
            let listed = await store.segments(space: "s")
            let status = await store.status(space: "s", segment: "gone")
            let peeked = try await store.peek(space: "s", segment: "gone")
            let again = try await store.deleteSegment(space: "s", segment: "gone")
            #expect(deleted == 300)
            #expect(segment.isEmpty)
            #expect(space.map(\.segment) == Array(repeating: "kept", count: 300))
            #expect(space.map(\.sequence) == Array(1...300))
            #expect(listed == ["kept"])
            #expect(status == nil)
            #expect(peeked == nil)
            #expect(again == 0)
        }
    }

    @Test(arguments: Backend.allCases)
    func producingToADeletedSegmentContinuesAfterItsLastSequence(_ backend: Backend) async throws {
        try await withStore(backend, configuration: Self.smallBlocks()) { fixture in
            let store = fixture.store
            try await Self.interleaved(store, transactions: 3)
            try await store.deleteSegment(space: "s", segment: "gone")

            let reused = await streamKitError {
                try await store.produce(space: "s", segment: "gone", records: records(1...1))
            }
            try await store.produce(space: "s", segment: "gone", records: records(31...32, tag: "new"))
            let segment = try await store.consumeSegment(space: "s", segment: "gone").collect()
            let space = try await store.consumeSpace(space: "s").collect().filter { $0.segment == "gone" }
            let status = try #require(await store.status(space: "s", segment: "gone"))
            #expect(reused?.code == .sequenceConflict)
            #expect(reused?.expectedSequence == 31)
            #expect(segment.map(\.sequence) == [31, 32])
            #expect(space.map(\.sequence) == [31, 32])
            #expect(status.firstSequence == 31)
            #expect(status.lastSequence == 32)
        }
    }

    @Test(arguments: Backend.allCases)
    func truncatingASegmentKeepsItsEntriesFromTheSequenceOn(_ backend: Backend) async throws {
        try await withStore(backend, configuration: Self.smallBlocks()) { fixture in
            let store = fixture.store
            try await Self.interleaved(store)
            let kept = try #require(
                try await store.consumeSegment(space: "s", segment: "gone", minSequence: 155, limit: 1).collect().first)

            let deleted = try await store.truncateSegment(space: "s", segment: "gone", before: 155)

            let fromOne = try await store.consumeSegment(space: "s", segment: "gone").collect()
            let space = try await store.consumeSpace(space: "s").collect().filter { $0.segment == "gone" }
            let status = try #require(await store.status(space: "s", segment: "gone"))
            let zero = await streamKitError {
                _ = try await store.truncateSegment(space: "s", segment: "gone", before: 0)
            }
            let unknown = await streamKitError { _ = try await store.deleteSegment(space: "s", segment: "never") }
            #expect(deleted == 154)
            #expect(fromOne.map(\.sequence) == Array(155...300))
            #expect(space.map(\.sequence) == Array(155...300))
            #expect(status.firstSequence == 155)
            #expect(status.firstTimestamp == kept.timestamp)
            #expect(status.lastSequence == 300)
            #expect(zero?.code == .invalidArgument)
            #expect(unknown?.code == .notFound)
        }
    }

    @Test(arguments: Backend.allCases)
    func subscribersLearnTheFirstEntryLeftAfterATruncation(_ backend: Backend) async throws {
        try await withStore(backend, configuration: Self.smallBlocks()) { fixture in
            let store = fixture.store
            try await store.produce(space: "s", segment: "g", records: records(1...10))
            let subscription = try await store.subscribe(space: "s", segment: "*")
            var iterator = subscription.makeAsyncIterator()
            let snapshot = await iterator.next()

            try await store.truncateSegment(space: "s", segment: "g", before: 6)
            // A commit to another segment queues behind the truncation's status (so a missing one fails, not hangs).
            try await store.produce(space: "s", segment: "h", records: records(1...1))
            let update = await iterator.next()
            subscription.cancel()

            #expect(snapshot?.firstSequence == 1)
            #expect(update?.segment == "g")
            #expect(update?.firstSequence == 6)
            #expect(update?.lastSequence == 10)
        }
    }

    @Test func truncatingPastTheLastSequenceDeletesEverythingAndLaterEntriesStayVisible() async throws {
        let store = Store.inMemory(configuration: Self.smallBlocks())
        try await store.produce(space: "s", segment: "g", records: records(1...5))

        let deleted = try await store.truncateSegment(space: "s", segment: "g", before: 1_000)
        try await store.produce(space: "s", segment: "g", records: records(6...7))
        let read = try await store.consumeSegment(space: "s", segment: "g").collect()
        await store.close()

        #expect(deleted == 5)
        #expect(read.map(\.sequence) == [6, 7])  // The bound stops at the last sequence: 6 and 7 are not deleted.
    }

    @Test func deletionsHoldAfterARestartAlsoWhenMadeFromTheSealedBlocksIndex() async throws {
        let fixture = try await StoreFixture.make(.file, configuration: Self.smallBlocks())
        defer { Task { await fixture.tearDown() } }
        try await Self.interleaved(fixture.store)
        try await fixture.store.truncateSegment(space: "s", segment: "kept", before: 101)  // exact runs (in memory)
        // Reopened, the index holds block runs (from the sealed blocks): truncate mid-block.
        let reopened = try await fixture.reopen(configuration: Self.smallBlocks())
        let midBlock = try #require(
            try await reopened.consumeSegment(space: "s", segment: "gone", minSequence: 77, limit: 1).collect().first)
        try await reopened.truncateSegment(space: "s", segment: "gone", before: 77)
        await reopened.close()

        let store = try await Store.open(
            id: fixture.store.id, directory: try #require(fixture.directory), configuration: Self.smallBlocks())
        let gone = try await store.consumeSegment(space: "s", segment: "gone").collect()
        let kept = try await store.consumeSegment(space: "s", segment: "kept").collect()
        let space = try await store.consumeSpace(space: "s").collect()
        let status = try #require(await store.status(space: "s", segment: "gone"))
        let files = try LogReader(directory: try #require(fixture.directory)).entries()
        await store.close()

        #expect(gone.map(\.sequence) == Array(77...300))
        #expect(kept.map(\.sequence) == Array(101...300))
        #expect(space.count == gone.count + kept.count)
        #expect(
            space.allSatisfy {
                ($0.segment == "gone" && $0.sequence >= 77) || ($0.segment == "kept" && $0.sequence >= 101)
            })
        #expect(status.firstSequence == 77)
        #expect(status.firstTimestamp == midBlock.timestamp)
        #expect(files.count == space.count)  // The tools' reader leaves them out too.
        #expect(files.map(\.position) == space.map(\.position))
    }

    @Test(arguments: Backend.allCases)
    func anOffsetOfADeletedEntryResumesAtTheNextEntryLeft(_ backend: Backend) async throws {
        try await withStore(backend, configuration: Self.smallBlocks()) { fixture in
            let store = fixture.store
            try await Self.interleaved(store, transactions: 3)
            let before = try await store.consumeSpace(space: "s").collect()
            let offset = try #require(before.first { $0.segment == "gone" && $0.sequence == 5 }).offset
            try await store.deleteSegment(space: "s", segment: "gone")

            let resumed = try await store.consumeSpace(space: "s", offset: offset).collect()
            let next = before.filter { $0.position > offset.position && $0.segment == "kept" }
            #expect(resumed.map(\.position) == next.map(\.position))
        }
    }

    @Test func aDeletionIsForgottenOnceRetentionDropsWhatItCovers() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-deletion-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await Store.open(id: UUID(), directory: directory, configuration: Self.smallBlocks())
        try await store.produce(
            space: "s", segment: "early", records: records(1...300, tag: String(repeating: "e", count: 60)))
        try await store.produce(
            space: "s", segment: "late", records: records(1...1_000, tag: String(repeating: "l", count: 60)))
        try await store.deleteSegment(space: "s", segment: "early")
        let recorded = try StoreManifest.read(directory: directory).deletions

        try await store.applyRetention(.init(maxBytes: 0))
        let manifest = try StoreManifest.read(directory: directory)
        await store.close()
        let reopened = try await Store.open(id: UUID(), directory: directory, configuration: Self.smallBlocks())
        let reused = await streamKitError {
            try await reopened.produce(space: "s", segment: "early", records: records(1...1))
        }
        let listed = await reopened.segments(space: "s")
        await reopened.close()

        #expect(recorded.map(\.segment) == ["early"])
        #expect(manifest.deletions.isEmpty)
        #expect(manifest.retired.map(\.segment) == ["early"])
        #expect(reused?.expectedSequence == 301)
        #expect(listed == ["late"])
    }

    @Test(arguments: Backend.allCases)
    func aPerSegmentBoundKeepsTheNewestEntriesOfEachSegment(_ backend: Backend) async throws {
        try await withStore(backend, configuration: Self.smallBlocks()) { fixture in
            let store = fixture.store
            try await store.produce(space: "s", segment: "long", records: records(1...10))
            try await store.produce(space: "s", segment: "short", records: records(1...3))

            let outcome = try await store.applyRetention(.init(maxEntriesPerSegment: 4))
            let again = try await store.applyRetention(.init(maxEntriesPerSegment: 4))
            let long = try await store.consumeSegment(space: "s", segment: "long").collect()
            let short = try await store.consumeSegment(space: "s", segment: "short").collect()
            let status = try #require(await store.status(space: "s", segment: "long"))
            try await store.produce(space: "s", segment: "long", records: records(11...11))
            let later = try await store.applyRetention(.init(maxEntriesPerSegment: 4))
            let afterMore = try await store.consumeSegment(space: "s", segment: "long").collect()

            #expect(outcome?.expiredEntries == 6)
            #expect(again == nil)
            #expect(long.map(\.sequence) == [7, 8, 9, 10])
            #expect(short.map(\.sequence) == [1, 2, 3])
            #expect(status.firstSequence == 7)
            #expect(later?.expiredEntries == 1)
            #expect(afterMore.map(\.sequence) == [8, 9, 10, 11])
        }
    }

    @Test func aPerSegmentBoundOnAClosedStoreIsRecordedAsDeletionsThatCompactionErases() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-deletion-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = Self.smallBlocks()
        configuration.retention.compacts = false
        let store = try await Store.open(id: UUID(), directory: directory, configuration: configuration)
        try await Self.interleaved(store, transactions: 10)
        try await store.produce(space: "s", segment: "small", records: records(1...2))
        await store.close()

        let truncated = try LogRetention.truncate(directory: directory, policy: .init(maxEntriesPerSegment: 25))
        let erased = try LogCompaction.run(directory: directory)
        let reopened = try await Store.open(id: store.id, directory: directory, configuration: configuration)
        let gone = try await reopened.consumeSegment(space: "s", segment: "gone").collect()
        let small = try await reopened.consumeSegment(space: "s", segment: "small").collect()
        await reopened.close()

        #expect(truncated.expiredEntries == 150)
        #expect(truncated.manifest.deletions.map(\.segment) == ["gone", "kept"])
        #expect(erased.erasedEntries == 150)
        #expect(erased.finishedDeletions.count == 2)
        #expect(try StoreManifest.read(directory: directory).deletions.isEmpty)
        #expect(gone.map(\.sequence) == Array(76...100))
        #expect(small.map(\.sequence) == [1, 2])
    }

    @Test func deletionsInPostgreSQLHoldAfterTheStoreReopens() async throws {
        let fixture = try await StoreFixture.make(.postgres, configuration: Self.smallBlocks())
        try await Self.interleaved(fixture.store, transactions: 4)
        try await fixture.store.truncateSegment(space: "s", segment: "kept", before: 11)
        try await fixture.store.deleteSegment(space: "s", segment: "gone")

        let reopened = try await fixture.reopen(configuration: Self.smallBlocks())
        let space = try await reopened.consumeSpace(space: "s").collect()
        let listed = await reopened.segments(space: "s")
        let reused = await streamKitError {
            try await reopened.produce(space: "s", segment: "gone", records: records(1...1))
        }
        await reopened.close()

        #expect(space.map(\.segment) == Array(repeating: "kept", count: 30))
        #expect(space.map(\.sequence) == Array(11...40))
        #expect(listed == ["kept"])
        #expect(reused?.expectedSequence == 41)
    }

    @Test func aDeletionThroughOneNodeHidesTheEntriesOnTheOtherNodes() async throws {
        var configuration = Self.smallBlocks()
        configuration.followPollInterval = .milliseconds(50)
        let nodes = try await PostgresNodesTests.Nodes.open(2, configuration: configuration)
        let (writer, reader) = (nodes.stores[0], nodes.stores[1])
        try await Self.interleaved(writer, transactions: 3)
        await reader.catchUp(SegmentKey(space: "s", segment: "kept"), through: 30)
        let before = try await reader.consumeSpace(space: "s").collect()

        try await writer.deleteSegment(space: "s", segment: "gone")
        var seen: [Entry] = before
        for _ in 0..<400 where seen.contains(where: { $0.segment == "gone" }) {
            try await Task.sleep(for: .milliseconds(25))
            seen = try await reader.consumeSpace(space: "s").collect()
        }
        let segment = try await reader.consumeSegment(space: "s", segment: "gone").collect()
        let listed = await reader.segments(space: "s")
        await nodes.close()

        #expect(before.filter { $0.segment == "gone" }.count == 30)
        #expect(seen.map(\.segment) == Array(repeating: "kept", count: 30))
        #expect(segment.isEmpty)
        #expect(listed == ["kept"])
    }

    @Test func aStorageThatCannotDeleteRefusesAndEveryEntryStays() async throws {
        let store = Store(
            id: UUID(), storage: KeepingStorage(MemoryStorage()), contents: .empty, configuration: StoreFixture.quiet())
        try await store.produce(space: "s", segment: "g", records: records(1...3))

        let refused = await streamKitError { _ = try await store.deleteSegment(space: "s", segment: "g") }
        let read = try await store.consumeSegment(space: "s", segment: "g").collect()
        let space = try await store.consumeSpace(space: "s").collect()
        await store.close()

        #expect(refused?.code == .unsupported)
        #expect(read.map(\.sequence) == [1, 2, 3])
        #expect(space.count == 3)
    }
}

/// A storage that keeps every entry: it forwards to a memory log but does not implement deletion.
private struct KeepingStorage: StoreStorage {
    let base: MemoryStorage
    init(_ base: MemoryStorage) { self.base = base }
    nonisolated(nonsending) func append(_ transaction: TransactionInput) async throws -> CommittedTransaction {
        try await base.append(transaction)
    }
    func blockIndex(containing position: UInt64) -> Int? { base.blockIndex(containing: position) }
    func block(at index: Int) -> LogBlock? { base.block(at: index) }
    func readBlock(at index: Int) throws -> [Entry] { try base.readBlock(at: index) }
    func takeSealedBlocks() -> [SealedBlock] { base.takeSealedBlocks() }
    func flush() async throws { try await base.flush() }
    func close() async { await base.close() }
}
