import Foundation
import PostgresNIO
import StreamKitLogFiles
import StreamKitTestSupport
import Synchronization
import Testing

@testable import StreamKitEngine
@testable import StreamKitPostgres

/// Retention over PostgreSQL: the oldest rows go (by size or age), every node reads from the new start, sequences
/// continue, and the start survives a reopen.
@Suite struct PostgresRetentionTests {
    @Test func retentionBySizeDropsTheOldestRowsAndEveryNodeReadsFromTheNewStart() async throws {
        var configuration = StoreFixture.quiet()
        configuration.followPollInterval = .milliseconds(50)
        configuration.retention.compacts = false
        let nodes = try await PostgresNodesTests.Nodes.open(2, configuration: configuration)
        let (writer, reader) = (nodes.stores[0], nodes.stores[1])
        for t in UInt64(0)..<40 {
            try await writer.produce(
                space: "s", segment: "g",
                records: records((t * 10 + 1)...(t * 10 + 10), tag: String(repeating: "x", count: 100)))
        }
        await reader.catchUp(SegmentKey(space: "s", segment: "g"), through: 400)
        let early = try #require(try await reader.consumeSpace(space: "s", limit: 3).collect().last).offset

        let outcome = try #require(try await writer.applyRetention(.init(maxBytes: 8 << 10)))

        let first = try #require(try await writer.consumeSpace(space: "s", limit: 1).collect().first)
        var seen = try await reader.consumeSpace(space: "s", limit: 1).collect().first
        for _ in 0..<400 where seen?.position != first.position {
            try await Task.sleep(for: .milliseconds(25))
            seen = try await reader.consumeSpace(space: "s", limit: 1).collect().first
        }
        let resumed = try await reader.consumeSpace(space: "s", offset: early, limit: 1).collect()
        let status = try #require(await reader.status(space: "s", segment: "g"))
        let segment = try await reader.consumeSegment(space: "s", segment: "g").collect()
        await nodes.close()
        let log = try await TestPostgres.log()
        let reopened = try #require(
            try await log.openStore(id: writer.id, configuration: configuration, creating: false))
        let afterReopen = try await reopened.consumeSpace(space: "s").collect()
        try await reopened.produce(space: "s", segment: "g", records: records(401...401))
        let last = try await reopened.peek(space: "s", segment: "g")
        await reopened.close()

        #expect(outcome.droppedFiles > 0)
        #expect(outcome.droppedEntries == Int(first.position) - 1)
        #expect(outcome.reclaimedBytes > 0)
        #expect(first.sequence > 1)
        #expect(seen?.position == first.position)
        #expect(resumed.map(\.position) == [first.position])
        #expect(status.firstSequence == first.sequence)
        #expect(segment.map(\.sequence) == Array(first.sequence...400))
        #expect(afterReopen.first?.position == first.position)
        #expect(afterReopen.count == 400 - Int(first.sequence) + 1)
        #expect(last?.sequence == 401)
    }

    @Test func aNodeThatHasNotLearnedOfTheDropReadsOnFromTheNewStartInsteadOfFailing() async throws {
        var writerConfiguration = StoreFixture.quiet()
        writerConfiguration.retention.compacts = false
        var readerConfiguration = writerConfiguration
        readerConfiguration.followPollInterval = .seconds(3600)  // It learns of the drop only by reading.
        readerConfiguration.blockCacheBytes = 0
        let writerLog = try await TestPostgres.node()
        let readerLog = try await TestPostgres.node()
        let writer = try #require(try await writerLog.openStore(id: UUID(), configuration: writerConfiguration))
        for t in UInt64(0)..<20 {
            try await writer.produce(
                space: "s", segment: "g",
                records: records((t * 10 + 1)...(t * 10 + 10), tag: String(repeating: "x", count: 100)))
        }
        let reader = try #require(
            try await readerLog.openStore(id: writer.id, configuration: readerConfiguration, creating: false))

        try #require(try await writer.applyRetention(.init(maxBytes: 4 << 10)) != nil)
        let first = try #require(try await writer.consumeSpace(space: "s", limit: 1).collect().first)
        let space = try await reader.consumeSpace(space: "s").collect()
        let segment = try await reader.consumeSegment(space: "s", segment: "g").collect()
        let damaged = reader.damagedBlocks
        await reader.close()
        await writer.close()
        await readerLog.close()
        await writerLog.close()

        #expect(first.position > 1)
        #expect(space.first?.position == first.position)
        #expect(space.map(\.sequence) == Array(first.sequence...200))
        #expect(segment.map(\.sequence) == Array(first.sequence...200))
        #expect(damaged.isEmpty)
    }

    @Test func retentionByAgeDropsRowsWhoseNewestEntryIsOlderThanTheHorizon() async throws {
        let now = Atomic<Int64>(1_000_000_000_000)
        var configuration = StoreFixture.quiet()
        configuration.retention.compacts = false
        configuration.log.clock = { now.load(ordering: .relaxed) }
        let log = try await TestPostgres.log()
        let store = try #require(try await log.openStore(id: UUID(), configuration: configuration))
        try await store.produce(space: "s", segment: "old", records: records(1...5))
        now.add(3_600_000_000_000, ordering: .relaxed)  // an hour later
        try await store.produce(space: "s", segment: "new", records: records(1...5))

        let kept = try await store.applyRetention(.init(maxAge: .seconds(7200)))
        let outcome = try await store.applyRetention(.init(maxAge: .seconds(1800)))
        let listed = await store.segments(space: "s")
        let space = try await store.consumeSpace(space: "s").collect()
        let reused = await streamKitError {
            try await store.produce(space: "s", segment: "old", records: records(1...1))
        }
        await store.close()

        #expect(kept == nil)
        #expect(outcome?.droppedEntries == 5)
        #expect(listed == ["new"])
        #expect(space.map(\.segment) == Array(repeating: "new", count: 5))
        #expect(reused?.expectedSequence == 6)
    }

    @Test func aStoresOwnPolicySetOnOneNodeIsWhatEveryNodeAppliesAndSurvivesAReopen() async throws {
        var configuration = StoreFixture.quiet()
        configuration.retention = RetentionConfiguration(policy: .init(maxEntriesPerSegment: 50), interval: .zero)
        let nodes = try await PostgresNodesTests.Nodes.open(2, configuration: configuration)
        let (setter, other) = (nodes.stores[0], nodes.stores[1])
        try await setter.produce(space: "s", segment: "g", records: records(1...20))
        await other.catchUp(SegmentKey(space: "s", segment: "g"), through: 20)
        let policy = LogRetention.Policy(maxAge: .seconds(7 * 86_400), maxEntriesPerSegment: 4)

        try await setter.setRetentionPolicy(policy)
        let seenByOther = try await other.retentionPolicy()
        try await other.retentionPass(configuration.retention)
        let first = await other.status(space: "s", segment: "g")?.firstSequence
        await nodes.close()
        let log = try await TestPostgres.log()
        let reopened = try #require(
            try await log.openStore(id: setter.id, configuration: configuration, creating: false))
        let afterReopen = try await reopened.retentionPolicy()
        try await reopened.setRetentionPolicy(nil)
        let cleared = try await reopened.retentionPolicy()
        await reopened.close()

        #expect(seenByOther == policy)
        #expect(first == 17)
        #expect(afterReopen == policy)
        #expect(cleared == nil)
    }
}
