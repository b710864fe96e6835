import Foundation
import StreamKitLogFiles
import Testing

@testable import StreamKitEngine

/// A store's own retention policy: kept with its log (so it survives a restart and outlives compaction and
/// retention's manifest writes), and applied by the background pass instead of the configured default.
struct RetentionPolicyTests {
    private static func configuration(default policy: LogRetention.Policy = .init()) -> StoreConfiguration {
        var configuration = StoreFixture.quiet()
        configuration.log.blockBytes = 1024
        configuration.log.logFileBytes = 8 * 1024
        configuration.retention = RetentionConfiguration(policy: policy, interval: .zero)  // Tests run the passes.
        return configuration
    }

    @Test func aStoresOwnPolicyIsKeptAcrossARestartAndClearingItGoesBackToTheDefault() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-policy-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let policy = LogRetention.Policy(maxAge: .seconds(36 * 3600), maxEntriesPerSegment: 10)
        let store = try await Store.open(id: UUID(), directory: directory, configuration: Self.configuration())
        let before = try await store.retentionPolicy()

        try await store.setRetentionPolicy(policy)
        await store.close()
        let reopened = try await Store.open(id: store.id, directory: directory, configuration: Self.configuration())
        let afterRestart = try await reopened.retentionPolicy()
        try await reopened.setRetentionPolicy(nil)
        let cleared = try await reopened.retentionPolicy()
        await reopened.close()

        #expect(before == nil)
        #expect(afterRestart == policy)
        #expect(cleared == nil)
        #expect(try StoreManifest.read(directory: directory).policy == nil)
    }

    @Test func theBackgroundPassAppliesTheStoresOwnPolicyInsteadOfTheDefault() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-policy-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = Self.configuration(default: .init(maxEntriesPerSegment: 5))
        let store = try await Store.open(id: UUID(), directory: directory, configuration: configuration)
        try await store.produce(space: "s", segment: "g", records: records(1...20))

        try await store.setRetentionPolicy(LogRetention.Policy())  // Own policy without bounds: keep everything.
        try await store.retentionPass(configuration.retention)
        let unbounded = await store.status(space: "s", segment: "g")?.firstSequence
        try await store.setRetentionPolicy(.init(maxEntriesPerSegment: 3))
        try await store.retentionPass(configuration.retention)
        let own = await store.status(space: "s", segment: "g")?.firstSequence
        let kept = try await store.retentionPolicy()
        try await store.setRetentionPolicy(nil)
        try await store.produce(space: "s", segment: "g", records: records(21...30))
        try await store.retentionPass(configuration.retention)
        let byDefault = await store.status(space: "s", segment: "g")?.firstSequence
        await store.close()

        #expect(unbounded == 1)
        #expect(own == 18)
        #expect(kept == LogRetention.Policy(maxEntriesPerSegment: 3))
        #expect(byDefault == 26)
    }

    @Test func compactionAndRetentionKeepTheStoresPolicyInTheManifest() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-policy-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let policy = LogRetention.Policy(maxBytes: 16 * 1024)
        let store = try await Store.open(id: UUID(), directory: directory, configuration: Self.configuration())
        try await store.setRetentionPolicy(policy)
        try await store.produce(
            space: "s", segment: "old", records: records(1...100, tag: String(repeating: "o", count: 60)))
        try await store.produce(
            space: "s", segment: "new", records: records(1...400, tag: String(repeating: "n", count: 60)))
        try await store.truncateSegment(space: "s", segment: "new", before: 50)

        let compacted = try await store.compact()
        let dropped = try await store.applyRetention(policy)
        await store.close()

        #expect(compacted?.finishedDeletions.isEmpty == false)
        #expect((dropped?.droppedFiles ?? 0) > 0)
        #expect(try StoreManifest.read(directory: directory).policy == policy)
    }

    @Test func backgroundPassesFinishDeletionsAtMostOncePerIntervalAndAnExplicitCompactionAlways() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-policy-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = Self.configuration()
        configuration.retention.compacts = true
        let store = try await Store.open(id: UUID(), directory: directory, configuration: configuration)
        let filler = String(repeating: "f", count: 60)
        try await store.produce(space: "s", segment: "a", records: records(1...20))
        try await store.produce(space: "s", segment: "fill", records: records(1...300, tag: filler))
        try await store.deleteSegment(space: "s", segment: "a")

        try await store.retentionPass(configuration.retention)
        let afterFirst = try StoreManifest.read(directory: directory).deletions.map(\.segment)
        try await store.produce(space: "s", segment: "b", records: records(1...20))
        try await store.produce(space: "s", segment: "fill", records: records(301...600, tag: filler))
        try await store.deleteSegment(space: "s", segment: "b")
        try await store.retentionPass(configuration.retention)  // Within the interval: erases, keeps the record.
        let afterSecond = try StoreManifest.read(directory: directory).deletions.map(\.segment)
        let erasedSecond = try LogReader(directory: directory).blocks.reduce(0) {
            $0 + $1.runs.filter(\.space.isEmpty).reduce(0) { $0 + $1.count }
        }
        let explicit = try await store.compact()
        let afterExplicit = try StoreManifest.read(directory: directory).deletions.map(\.segment)
        await store.close()

        #expect(afterFirst.isEmpty)
        #expect(afterSecond == ["b"])
        #expect(erasedSecond == 40)
        #expect(explicit?.finishedDeletions.map(\.segment) == ["b"])
        #expect(afterExplicit.isEmpty)
    }

    @Test(arguments: [
        LogRetention.Policy(maxAge: .zero), LogRetention.Policy(maxBytes: 0),
        LogRetention.Policy(maxEntriesPerSegment: -1),
    ])
    func aPolicyWithABoundThatKeepsNothingIsRefused(policy: LogRetention.Policy) async throws {
        let store = Store(id: UUID(), storage: MemoryStorage(), contents: .empty, configuration: StoreFixture.quiet())

        let error = await streamKitError { try await store.setRetentionPolicy(policy) }
        let kept = try await store.retentionPolicy()
        await store.close()

        #expect(error?.code == .invalidArgument)
        #expect(error?.storeID == store.id)
        #expect(kept == nil)
    }
}
