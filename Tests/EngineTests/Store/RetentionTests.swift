import Foundation
import StreamKitLogFiles
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
        try await store.produce(space: "s", segment: "early", records: records(1...300, tag: String(repeating: "e", count: 60)))
        try await store.produce(space: "s", segment: "late", records: records(1...300, tag: String(repeating: "l", count: 60)))
        await store.close()
        let logFiles = try FileManager.default.contentsOfDirectory(atPath: directory + "/log")
            .filter { $0.hasSuffix(".log") }.count
        #expect(logFiles >= 3)
        return try LogRetention.drop(directory: directory, policy: .init(maxBytes: 12 * 1024), configuration: configuration.log)
    }

    @Test func producingToASegmentWhoseEntriesAllWentContinuesAfterItsLastSequence() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-retention-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try await makeDroppedStore(directory)
        #expect(outcome.manifest.retired.map(\.segment) == ["early"])
        let store = try await Store.open(id: UUID(), directory: directory, configuration: StoreFixture.quiet())

        let reused = await streamKitError { try await store.produce(space: "s", segment: "early", records: records(1...1)) }
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
        try await writer.produce(space: "s", segment: "g", records: records(1...600, tag: String(repeating: "x", count: 60)))
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
}
