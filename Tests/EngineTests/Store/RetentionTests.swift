import Foundation
import MetricsTestKit
import StreamKitLogFiles
import Synchronization
import Testing

@testable import StreamKitEngine

/// A file store reopened after its oldest log files were dropped (`LogRetention`): reads start at what is left,
/// and sequences continue where they were, also for segments none of whose entries is left.
struct RetentionTests {
    /// A closed store with segment "early" written first (all of it in the oldest files), then "late" over
    /// several log files.
    private func makeDroppedStore(_ directory: String) async throws -> LogRetention.Outcome {
        var configuration = StoreFixture.quiet()
        configuration.log.blockBytes = 1024
        configuration.log.logFileBytes = 8 * 1024
        let store = try await Store.open(id: UUID(), directory: directory, configuration: configuration)
        try await store.produce(
            space: "s", segment: "early", records: records(1...300, tag: String(repeating: "e", count: 60)))
        try await store.produce(
            space: "s", segment: "late", records: records(1...300, tag: String(repeating: "l", count: 60)))
        await store.close()
        let logFiles = try FileManager.default.contentsOfDirectory(atPath: directory + "/log")
            .filter { $0.hasSuffix(".log") }.count
        #expect(logFiles >= 3)
        return try LogRetention.drop(
            directory: directory, policy: .init(maxBytes: 12 * 1024), configuration: configuration.log)
    }

    @Test func producingToASegmentWhoseEntriesAllWentContinuesAfterItsLastSequence() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-retention-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try await makeDroppedStore(directory)
        #expect(outcome.manifest.retired.map(\.segment) == ["early"])
        let store = try await Store.open(id: UUID(), directory: directory, configuration: StoreFixture.quiet())

        let reused = await streamKitError {
            try await store.produce(space: "s", segment: "early", records: records(1...1))
        }
        let invisible = (await store.segments(space: "s"), await store.status(space: "s", segment: "early"))
        try await store.produce(space: "s", segment: "early", records: records(301...302))
        let read = try await store.consumeSegment(space: "s", segment: "early").collect()
        await store.close()

        #expect(reused?.code == .sequenceConflict)
        #expect(reused?.expectedSequence == 301)
        #expect(invisible.0 == ["late"])  // No entries left: not listed, no status, until it has entries again.
        #expect(invisible.1 == nil)
        #expect(read.map(\.sequence) == [301, 302])
    }

    @Test func anOffsetIntoTheDroppedRangeResumesAtTheFirstEntryLeftAndAForgedOneFails() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-retention-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = StoreFixture.quiet()
        configuration.log.blockBytes = 1024
        configuration.log.logFileBytes = 8 * 1024
        let writer = try await Store.open(id: UUID(), directory: directory, configuration: configuration)
        try await writer.produce(
            space: "s", segment: "g", records: records(1...600, tag: String(repeating: "x", count: 60)))
        let early = try #require(try await writer.consumeSpace(space: "s", limit: 5).collect().last).offset
        await writer.close()
        _ = try LogRetention.drop(directory: directory, policy: .init(maxBytes: 0), configuration: configuration.log)
        let store = try await Store.open(id: UUID(), directory: directory, configuration: StoreFixture.quiet())
        let first = try #require(try await store.consumeSegment(space: "s", segment: "g", limit: 1).collect().first)

        let resumed = try await store.consumeSpace(space: "s", offset: early, limit: 1).collect()
        let forged = Offset(position: early.position, timestamp: first.timestamp + 1)
        let refused = await streamKitError { _ = try await store.consumeSpace(space: "s", offset: forged).collect() }
        await store.close()

        #expect(early.position < first.position)
        #expect(resumed.map(\.sequence) == [first.sequence])
        #expect(refused?.code == .invalidOffset)
    }

    @Test func aSegmentWithEntriesLeftReadsFromItsFirstKeptEntryAndContinues() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-retention-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try await makeDroppedStore(directory)
        let store = try await Store.open(id: UUID(), directory: directory, configuration: StoreFixture.quiet())

        let status = try #require(await store.status(space: "s", segment: "late"))
        let read = try await store.consumeSegment(space: "s", segment: "late").collect()
        let fromOne = try await store.consumeSegment(space: "s", segment: "late", minSequence: 1, limit: 1).collect()
        let space = try await store.consumeSpace(space: "s").collect()
        try await store.produce(space: "s", segment: "late", records: records(301...301))
        await store.close()

        #expect(status.firstSequence > 1)
        #expect(status.lastSequence == 300)
        #expect(read.map(\.sequence) == Array(status.firstSequence...300))
        #expect(fromOne.map(\.sequence) == [status.firstSequence])  // A read from before the start begins at it.
        #expect(space.map(\.segment) == Array(repeating: "late", count: read.count))
        #expect(space.map(\.sequence) == read.map(\.sequence))
    }

    // MARK: - While the store runs

    private static func smallFiles(clock: (@Sendable () -> Int64)? = nil) -> StoreConfiguration {
        var configuration = StoreFixture.quiet()
        configuration.log.blockBytes = 1024
        configuration.log.logFileBytes = 8 * 1024
        if let clock { configuration.log.clock = clock }
        return configuration
    }

    private static func logFileCount(_ directory: String) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: directory + "/log").filter { $0.hasSuffix(".log") }.count
    }

    @Test func retentionWhileOpenDropsTheOldestFilesAndEveryReadStartsAfterThemAlsoAfterARestart() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-retention-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let metrics = TestMetrics()
        var configuration = Self.smallFiles()
        configuration.metricsFactory = metrics
        let store = try await Store.open(id: UUID(), directory: directory, configuration: configuration)
        try await store.produce(
            space: "s", segment: "early", records: records(1...300, tag: String(repeating: "e", count: 60)))
        try await store.produce(
            space: "s", segment: "late", records: records(1...1_000, tag: String(repeating: "l", count: 60)))

        let outcome = try #require(try await store.applyRetention(.init(maxBytes: 0)))

        let listed = await store.segments(space: "s")
        let early = try await store.consumeSegment(space: "s", segment: "early").collect()
        let status = try #require(await store.status(space: "s", segment: "late"))
        let late = try await store.consumeSegment(space: "s", segment: "late").collect()
        let space = try await store.consumeSpace(space: "s").collect()
        let reused = await streamKitError {
            try await store.produce(space: "s", segment: "early", records: records(1...1))
        }
        let filesOnDisk = try Self.logFileCount(directory)
        await store.close()
        let reopened = try await Store.open(id: UUID(), directory: directory, configuration: Self.smallFiles())
        let lateAfterRestart = try await reopened.consumeSegment(space: "s", segment: "late").collect()
        let reusedAfterRestart = await streamKitError {
            try await reopened.produce(space: "s", segment: "early", records: records(1...1))
        }
        await reopened.close()

        #expect(outcome.droppedFiles > 0)
        #expect(metrics.counterTotal(label: "streamkit_storage_retention_dropped_files_total") == outcome.droppedFiles)
        #expect(
            metrics.counterTotal(label: "streamkit_storage_retention_dropped_entries_total") == outcome.droppedEntries)
        #expect(
            metrics.counterTotal(label: "streamkit_storage_retention_reclaimed_bytes_total")
                == Int(outcome.reclaimedBytes))
        #expect(filesOnDisk <= 2)  // The newest sealed file, and the one being appended to.
        #expect(listed == ["late"])
        #expect(early.isEmpty)
        #expect(status.firstSequence > 1)
        #expect(status.firstSequence == late.first?.sequence)
        #expect(status.firstTimestamp == late.first?.timestamp)
        #expect(late.map(\.sequence) == Array(status.firstSequence...1_000))
        #expect(space.map(\.sequence) == late.map(\.sequence))
        #expect(reused?.expectedSequence == 301)
        #expect(lateAfterRestart.map(\.sequence) == late.map(\.sequence))
        #expect(reusedAfterRestart?.expectedSequence == 301)
    }

    @Test func retentionByAgeDropsFilesWhoseEntriesAreAllOlderThanTheBound() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-retention-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let now = Atomic<Int64>(1_000_000_000_000)
        let store = try await Store.open(
            id: UUID(), directory: directory, configuration: Self.smallFiles { now.load(ordering: .relaxed) })
        try await store.produce(
            space: "s", segment: "g", records: records(1...300, tag: String(repeating: "o", count: 60)))
        now.add(3_600_000_000_000, ordering: .relaxed)  // An hour later.
        try await store.produce(
            space: "s", segment: "g", records: records(301...600, tag: String(repeating: "n", count: 60)))
        let young = try await store.applyRetention(.init(maxAge: .seconds(7_200)))

        let outcome = try #require(try await store.applyRetention(.init(maxAge: .seconds(1_800))))

        let left = try await store.consumeSegment(space: "s", segment: "g").collect()
        await store.close()
        #expect(young == nil)  // Nothing is two hours old.
        #expect(outcome.droppedEntries > 0)
        #expect(outcome.droppedEntries <= 300)  // Only old entries went.
        #expect(left.map(\.sequence) == Array(UInt64(outcome.droppedEntries + 1)...600))
    }

    @Test func retentionOnAStoreKeptInMemoryDropsNothing() async throws {
        let store = Store.inMemory()
        try await store.produce(space: "s", segment: "g", records: records(1...10))

        let outcome = try await store.applyRetention(.init(maxAge: .zero, maxBytes: 0))

        #expect(outcome == nil)
        #expect(try await store.consumeSegment(space: "s", segment: "g").collect().count == 10)
        await store.close()
    }

    @Test func aStoreConfiguredWithRetentionDropsTheOldestFilesInTheBackground() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-retention-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = Self.smallFiles()
        configuration.retention = RetentionConfiguration(policy: .init(maxBytes: 0), interval: .milliseconds(20))
        let store = try await Store.open(id: UUID(), directory: directory, configuration: configuration)

        try await store.produce(
            space: "s", segment: "g", records: records(1...1_000, tag: String(repeating: "b", count: 60)))

        var first: UInt64 = 1
        for _ in 0..<1_000 where first == 1 {  // A bound on the outcome (20 s), not a timing assumption.
            first = await store.status(space: "s", segment: "g")?.firstSequence ?? 1
            if first == 1 { try await Task.sleep(for: .milliseconds(20)) }
        }
        let read = try await store.consumeSegment(space: "s", segment: "g").collect()
        await store.close()
        #expect(first > 1)
        #expect(read.first?.sequence ?? 0 >= first)
        #expect(read.last?.sequence == 1_000)
    }

    @Test func aSegmentReadRunningWhenRetentionDropsItsRangeGoesOnInOrderToTheEnd() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-retention-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await Store.open(id: UUID(), directory: directory, configuration: Self.smallFiles())
        try await store.produce(
            space: "s", segment: "g", records: records(1...2_000, tag: String(repeating: "r", count: 60)))
        var iterator = store.consumeSegment(space: "s", segment: "g").makeAsyncIterator()
        var seen: [UInt64] = []
        while seen.count < 10, let entry = try await iterator.next() { seen.append(entry.sequence) }

        let outcome = try #require(try await store.applyRetention(.init(maxBytes: 0)))
        while let entry = try await iterator.next() { seen.append(entry.sequence) }
        await store.close()

        #expect(outcome.droppedEntries > 1_100)  // Past the first block the read had in hand.
        #expect(seen.last == 2_000)  // It did not end early.
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 < $1 })  // In order, nothing twice.
    }

    @Test func theBackgroundScrubGoesOnCheckingTheBlocksLeftAfterRetentionDroppedTheFirstOnes() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-retention-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let metrics = TestMetrics()
        var configuration = Self.smallFiles()
        configuration.metricsFactory = metrics
        configuration.scrub.bytesPerSecond = 0
        configuration.scrub.passInterval = .milliseconds(1)  // Passes back to back: each starts from the first block.
        configuration.scrub.pollInterval = .milliseconds(5)
        let store = try await Store.open(id: UUID(), directory: directory, configuration: configuration)
        try await store.produce(
            space: "s", segment: "g", records: records(1...2_000, tag: String(repeating: "s", count: 60)))
        _ = try #require(try await store.applyRetention(.init(maxBytes: 0)))
        let scrubbed = { metrics.counterTotal(label: "streamkit_storage_scrubbed_blocks_total") }
        let afterDrop = scrubbed()

        // Several passes' worth of blocks after the drop: passes that start at index 0 must skip the dropped ones.
        let target = afterDrop + 200
        for _ in 0..<2_000 where scrubbed() < target { try await Task.sleep(for: .milliseconds(10)) }  // ≤ 20 s.
        let checked = scrubbed() - afterDrop
        await store.close()

        #expect(checked >= 200)
    }
}
