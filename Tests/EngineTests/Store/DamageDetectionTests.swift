import Foundation
import Logging
import MetricsTestKit
import StreamKitLogFiles
import StreamKitTestSupport
import Testing

@testable import StreamKitEngine

/// Damage in the middle of a closed store's log (a block body, its header intact): the store opens (recovery
/// checks the tail only), and the damage must then reach an operator — logged at Error once with the file and
/// offset, counted in a metric, listed by `damagedBlocks` — whether a reader or the background scrub finds it.
@Suite(.timeLimit(.minutes(1)))
struct DamageDetectionTests {
    /// A closed file store whose first block has one bit flipped in its body, with a second segment written
    /// in later blocks.
    private struct DamagedStore {
        let directory: String
        let id = UUID()
        let logFile: String

        static func make() async throws -> DamagedStore {
            let directory = NSTemporaryDirectory() + "streamkit-damage-" + UUID().uuidString
            var configuration = StoreFixture.quiet()
            configuration.scrub.isEnabled = false
            let store = try await Store.open(id: UUID(), directory: directory, configuration: configuration)
            try await store.produce(space: "s", segment: "early", records: records(1...200))
            try await store.produce(space: "s", segment: "late", records: records(1...200))
            await store.close()
            let logs = try FileManager.default.contentsOfDirectory(atPath: directory + "/log").filter {
                $0.hasSuffix(".log")
            }
            #expect(logs.count == 1)
            let logFile = directory + "/log/" + logs[0]
            // Byte 200: file header (64) + block header (64) + 72 bytes into the first block's body.
            let handle = try #require(FileHandle(forUpdatingAtPath: logFile))
            try handle.seek(toOffset: 200)
            let byte = try #require(try handle.read(upToCount: 1)).first ?? 0
            try handle.seek(toOffset: 200)
            try handle.write(contentsOf: [byte ^ 0x10])
            try handle.close()
            return DamagedStore(directory: directory, logFile: logFile)
        }

        func open(scrub: ScrubConfiguration, logs: CapturedLogs, metrics: TestMetrics) async throws -> Store {
            var configuration = StoreFixture.quiet()
            configuration.scrub = scrub
            configuration.logger = logs.logger(level: .warning)
            configuration.metricsFactory = metrics
            return try await Store.open(id: id, directory: directory, configuration: configuration)
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    private static var noScrub: ScrubConfiguration {
        var scrub = ScrubConfiguration()
        scrub.isEnabled = false
        return scrub
    }

    private static var fastScrub: ScrubConfiguration {
        var scrub = ScrubConfiguration()
        scrub.bytesPerSecond = 0
        scrub.pollInterval = .milliseconds(50)
        return scrub
    }

    @Test(
        "a reader that reaches a damaged block fails with corrupt, and the damage is logged at Error once with file and offset, counted, and listed"
    )
    func readerReportsDamageOnce() async throws {
        let damaged = try await DamagedStore.make()
        defer { damaged.remove() }
        let logs = CapturedLogs()
        let metrics = TestMetrics()
        let store = try await damaged.open(scrub: Self.noScrub, logs: logs, metrics: metrics)

        for _ in 0..<3 {
            let error = await #expect(throws: StreamKitError.self) {
                _ = try await store.consumeSegment(space: "s", segment: "early").collect()
            }
            #expect(error?.code == .corrupt)
        }

        let blocks = store.damagedBlocks
        #expect(blocks.count == 1)
        #expect(blocks.first?.path == damaged.logFile)
        #expect(blocks.first?.offset == 64)
        #expect(blocks.first?.firstPosition == 1)
        #expect(blocks.first?.foundBy == .read)
        let errors = logs.lines(at: .error)
        #expect(errors.count == 1)
        #expect(errors.first?.metadata["file"] == damaged.logFile)
        #expect(errors.first?.metadata["offset"] == "64")
        #expect(errors.first?.metadata["store_id"] == damaged.id.uuidString)
        #expect(
            metrics.counterTotal(label: "streamkit_storage_damaged_blocks_total", dimensions: [("found_by", "read")])
                == 1)
        await store.close()
    }

    @Test("the background scrub finds a damaged block that no reader touched, while writes and reads elsewhere go on")
    func scrubFindsDamageWithoutAReader() async throws {
        let damaged = try await DamagedStore.make()
        defer { damaged.remove() }
        let logs = CapturedLogs()
        let metrics = TestMetrics()

        let store = try await damaged.open(scrub: Self.fastScrub, logs: logs, metrics: metrics)
        let deadline = ContinuousClock.now + .seconds(30)
        while store.damagedBlocks.isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }

        #expect(store.damagedBlocks.map(\.foundBy) == [.scrub])
        #expect(store.damagedBlocks.first?.offset == 64)
        #expect(logs.lines(at: .error).count == 1)
        #expect(
            metrics.counterTotal(label: "streamkit_storage_damaged_blocks_total", dimensions: [("found_by", "scrub")])
                == 1)
        try await store.produce(space: "s", segment: "late", records: records(201...210))
        let late = try await store.consumeSegment(space: "s", segment: "late", minSequence: 150).collect()
        #expect(late.map(\.sequence) == Array(150...210))
        await store.close()
    }

    @Test("the scrub checks every block of a healthy log, reports nothing, and stops when the store closes")
    func scrubOfHealthyLogReportsNothing() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-scrub-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logs = CapturedLogs()
        let metrics = TestMetrics()
        var configuration = StoreFixture.quiet()
        configuration.scrub = Self.fastScrub
        configuration.logger = logs.logger(level: .warning)
        configuration.metricsFactory = metrics
        let writer = try await Store.open(id: UUID(), directory: directory, configuration: configuration)
        try await writer.produce(space: "s", segment: "g", records: records(1...500))
        await writer.close()

        let store = try await Store.open(id: UUID(), directory: directory, configuration: configuration)
        let blocks = await store.statistics().blocks
        let deadline = ContinuousClock.now + .seconds(30)
        while metrics.counterTotal(label: "streamkit_storage_scrubbed_blocks_total") < Int64(blocks),
            ContinuousClock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(10))
        }
        await store.close()

        #expect(blocks > 1)
        #expect(metrics.counterTotal(label: "streamkit_storage_scrubbed_blocks_total") >= Int64(blocks))
        #expect(store.damagedBlocks.isEmpty)
        #expect(logs.lines(at: .error).isEmpty)
    }
}
