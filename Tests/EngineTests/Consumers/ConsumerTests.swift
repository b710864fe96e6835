import Foundation
import MetricsTestKit
import StreamKitLogFiles
import Synchronization
import Testing

@testable import StreamKitEngine

/// Durable named consumers: positions kept with the log on every backend, forward-only, fenced by lease tokens,
/// acknowledgements batched, and lag measured from the index.
struct ConsumerTests {
    /// Small blocks: a space's entries spread over many blocks, so that positions fall inside sealed blocks.
    private static func configuration() -> StoreConfiguration {
        var configuration = StoreFixture.quiet()
        configuration.log.blockBytes = 1024
        return configuration
    }

    @Test(arguments: Backend.allCases)
    func aConsumerResumesAfterItsLastAcknowledgedEntryAfterTheStoreReopens(_ backend: Backend) async throws {
        let fixture = try await StoreFixture.make(backend, configuration: Self.configuration())
        try await fixture.store.produce(space: "s", segment: "a", records: records(1...30))
        try await fixture.store.produce(space: "s", segment: "b", records: records(1...30))
        let created = try await fixture.store.createConsumer(name: "billing", target: .spaces(["s"]))
        let read = try await fixture.store.consume(
            spaces: created.position.offsets.isEmpty ? ["s": .start] : created.position.offsets
        ).collect()
        let processed = read[0..<37]

        try await fixture.store.acknowledge(
            consumer: "billing", through: created.position.advanced(through: processed.last!), durable: true)
        let store = try await fixture.reopen(configuration: Self.configuration())
        let resumed = try #require(try await store.consumer(named: "billing"))
        let rest = try await store.consume(spaces: ["s": resumed.position.offset(of: "s")]).collect()
        await store.close()
        await fixture.tearDown()

        #expect(read.count == 60)
        #expect(created.position == .start)
        #expect(resumed.target == .spaces(["s"]))
        #expect(rest.map(\.offset) == read[37...].map(\.offset))
    }

    @Test(arguments: Backend.allCases)
    func aConsumerCreatedAtTheHeadReadsOnlyWhatComesAfter(_ backend: Backend) async throws {
        try await withStore(backend, configuration: Self.configuration()) { fixture in
            let store = fixture.store
            try await store.produce(space: "s", segment: "a", records: records(1...10))
            try await store.produce(space: "s", segment: "b", records: records(1...5))

            let spaces = try await store.createConsumer(name: "late", target: .spaces(["s"]), startAtHead: true)
            let segment = try await store.createConsumer(
                name: "late-a", target: .segment(space: "s", segment: "a"), startAtHead: true)
            let again = try await store.createConsumer(name: "late", target: .spaces(["s"]))  // Existing: unchanged.
            try await store.produce(space: "s", segment: "a", records: records(11...12))
            let after = try await store.consume(spaces: ["s": spaces.position.offset(of: "s")]).collect()
            let afterSegment = try await store.consumeSegment(
                space: "s", segment: "a", minSequence: segment.position.sequence + 1
            )
            .collect()

            #expect(after.map(\.sequence) == [11, 12])
            #expect(afterSegment.map(\.sequence) == [11, 12])
            #expect(segment.position.sequence == 10)
            #expect(again == spaces)
        }
    }

    @Test(arguments: Backend.allCases)
    func positionsOnlyMoveForwardAndALowerFencingTokenIsRefusedOnceAHigherOneAcknowledged(
        _ backend: Backend
    ) async throws {
        try await withStore(backend, configuration: Self.configuration()) { fixture in
            let store = fixture.store
            try await store.produce(space: "s", segment: "a", records: records(1...10))
            let consumer = try await store.createConsumer(name: "c", target: .segment(space: "s", segment: "a"))
            let entries = try await store.consumeSegment(space: "s", segment: "a").collect()

            try await store.acknowledge(
                consumer: "c", through: consumer.position.advanced(through: entries[5]), fencingToken: 7)
            try await store.acknowledge(
                consumer: "c", through: consumer.position.advanced(through: entries[2]), fencingToken: 7)
            let kept = try await store.consumer(named: "c")
            let stale = await streamKitError {
                try await store.acknowledge(
                    consumer: "c", through: consumer.position.advanced(through: entries[8]), fencingToken: 6)
            }
            try await store.acknowledge(
                consumer: "c", through: consumer.position.advanced(through: entries[8]), fencingToken: 9)
            let taken = try await store.consumer(named: "c")

            #expect(kept?.position.sequence == 6)
            #expect(kept?.fencingToken == 7)
            #expect(stale?.code == .leaseNotHeld)
            #expect(taken?.position.sequence == 9)
            #expect(taken?.fencingToken == 9)
        }
    }

    @Test(arguments: Backend.allCases)
    func badConsumerRequestsAreRefusedWithTypedErrors(_ backend: Backend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            _ = try await store.createConsumer(name: "c", target: .spaces(["s"]))

            let otherTarget = await streamKitError {
                _ = try await store.createConsumer(name: "c", target: .spaces(["t"]))
            }
            let emptyName = await streamKitError {
                _ = try await store.createConsumer(name: "", target: .spaces(["s"]))
            }
            let longName = await streamKitError {
                _ = try await store.createConsumer(name: String(repeating: "n", count: 241), target: .spaces(["s"]))
            }
            let noSpace = await streamKitError { _ = try await store.createConsumer(name: "d", target: .spaces([])) }
            let star = await streamKitError {
                _ = try await store.createConsumer(name: "d", target: .segment(space: "s", segment: "*"))
            }
            let unknown = await streamKitError { try await store.acknowledge(consumer: "nobody", through: .start) }

            #expect(otherTarget?.code == .invalidArgument)
            #expect(emptyName?.code == .invalidArgument)
            #expect(longName?.code == .invalidArgument && longName?.limit == 240)
            #expect(noSpace?.code == .invalidArgument)
            #expect(star?.code == .invalidArgument)
            #expect(unknown?.code == .notFound)
        }
    }

    @Test(arguments: Backend.allCases)
    func aDeletedConsumerIsGoneAndItsNameCanBeCreatedAgain(_ backend: Backend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            try await store.produce(space: "s", segment: "a", records: records(1...3))
            let consumer = try await store.createConsumer(name: "c", target: .spaces(["s"]))
            let last = try #require(try await store.peek(space: "s", segment: "a"))
            try await store.acknowledge(consumer: "c", through: consumer.position.advanced(through: last))

            let deleted = try await store.deleteConsumer(named: "c")
            let deletedAgain = try await store.deleteConsumer(named: "c")
            let gone = try await store.consumer(named: "c")
            let recreated = try await store.createConsumer(name: "c", target: .spaces(["t"]))

            #expect(deleted)
            #expect(!deletedAgain)
            #expect(gone == nil)
            #expect(recreated.position == .start)
            #expect(try await store.consumers().map(\.name) == ["c"])
        }
    }

    @Test(arguments: Backend.allCases)
    func deferredAcknowledgementsAreVisibleAtOnceAndRecordedByClose(_ backend: Backend) async throws {
        let fixture = try await StoreFixture.make(backend, configuration: Self.configuration())
        try await fixture.store.produce(space: "s", segment: "a", records: records(1...100))
        var position = try await fixture.store.createConsumer(name: "c", target: .spaces(["s"])).position
        for try await entry in fixture.store.consumeSpace(space: "s") {
            position = position.advanced(through: entry)
            try await fixture.store.acknowledge(consumer: "c", through: position, durable: false)
        }
        let beforeClose = try await fixture.store.consumer(named: "c")

        let store = try await fixture.reopen(configuration: Self.configuration())
        let afterReopen = try await store.consumer(named: "c")
        await store.close()
        await fixture.tearDown()

        #expect(beforeClose?.position == position)
        #expect(afterReopen?.position == position)
    }

    @Test(arguments: Backend.allCases)
    func lagCountsTheEntriesAndTimeBehindTheHead(_ backend: Backend) async throws {
        try await withStore(backend, configuration: Self.configuration()) { fixture in
            let store = fixture.store
            for round in UInt64(0)..<10 {  // Interleaved segments over many 1 KiB blocks.
                try await store.produce(
                    space: "s", segment: "a", records: records((round * 10 + 1)...(round * 10 + 10)))
                try await store.produce(space: "s", segment: "b", records: records((round * 5 + 1)...(round * 5 + 5)))
                try await store.produce(space: "t", segment: "c", records: records((round * 3 + 1)...(round * 3 + 3)))
            }
            let spaces = try await store.createConsumer(name: "spaces", target: .spaces(["s", "t"]))
            let segment = try await store.createConsumer(name: "segment", target: .segment(space: "s", segment: "a"))
            let all = try await store.consume(spaces: ["s": .start, "t": .start]).collect()
            let fresh = try await store.lag(of: spaces)

            var results: [(Int, Int)] = []
            var position = spaces.position
            for (index, entry) in all.enumerated() {
                position = position.advanced(through: entry)
                try await store.acknowledge(consumer: "spaces", through: position)
                let consumer = try #require(try await store.consumer(named: "spaces"))
                results.append((index, try await store.lag(of: consumer).entries))
            }
            let ofSegmentAt40 = try await store.lag(
                of: Consumer(name: "x", target: segment.target, position: ConsumerPosition(offsets: [:], sequence: 40)))
            let caughtUp = try await store.lag(of: #require(try await store.consumer(named: "spaces")))
            let newest = all.map(\.timestamp).max()!

            #expect(all.count == 180)
            #expect(fresh.entries == 180)
            #expect(fresh.nanoseconds == newest - all.map(\.timestamp).min()!)
            #expect(results.filter { $0.1 != 180 - $0.0 - 1 }.map(\.0) == [])
            #expect(ofSegmentAt40.entries == 60)
            #expect(caughtUp == ConsumerLag(entries: 0, nanoseconds: 0))
        }
    }

    @Test(arguments: Backend.allCases)
    func aPositionInsideADeletedRangeResumesAfterIt(_ backend: Backend) async throws {
        try await withStore(backend, configuration: Self.configuration()) { fixture in
            let store = fixture.store
            try await store.produce(space: "s", segment: "a", records: records(1...50))
            let consumer = try await store.createConsumer(name: "c", target: .spaces(["s"]))
            let segmentConsumer = try await store.createConsumer(name: "d", target: .segment(space: "s", segment: "a"))
            let entries = try await store.consumeSegment(space: "s", segment: "a").collect()
            try await store.acknowledge(consumer: "c", through: consumer.position.advanced(through: entries[9]))
            try await store.acknowledge(consumer: "d", through: segmentConsumer.position.advanced(through: entries[9]))

            _ = try await store.truncateSegment(space: "s", segment: "a", before: 31)
            if backend != .memory { _ = try await store.compact() }
            let spaces = try #require(try await store.consumer(named: "c"))
            let segment = try #require(try await store.consumer(named: "d"))
            let resumed = try await store.consume(spaces: ["s": spaces.position.offset(of: "s")]).collect()
            let resumedSegment = try await store.consumeSegment(
                space: "s", segment: "a", minSequence: segment.position.sequence + 1
            ).collect()
            let lag = try await store.lag(of: spaces)

            #expect(resumed.map(\.sequence) == Array(31...50))
            #expect(resumedSegment.map(\.sequence) == Array(31...50))
            #expect(lag.entries == 20)
        }
    }

    @Test func lagIsExportedAsMetricsPerConsumerWhenItAcknowledgesOrIsListed() async throws {
        let metrics = TestMetrics()
        var configuration = StoreFixture.quiet()
        configuration.metricsFactory = metrics
        let store = Store.inMemory(configuration: configuration)
        try await store.produce(space: "s", segment: "a", records: records(1...10))
        let consumer = try await store.createConsumer(name: "billing", target: .spaces(["s"]))
        let entries = try await store.consumeSpace(space: "s").collect()
        let dimensions = [("store", store.id.uuidString.lowercased()), ("consumer", "billing")]

        try await store.acknowledge(consumer: "billing", through: consumer.position.advanced(through: entries[3]))
        let afterAck = try metrics.expectGauge("streamkit_consumer_lag_entries", dimensions).lastValue
        try await store.acknowledge(consumer: "billing", through: consumer.position.advanced(through: entries[9]))
        _ = try await store.consumerStatuses()
        let afterListing = try metrics.expectGauge("streamkit_consumer_lag_entries", dimensions).lastValue
        let seconds = try metrics.expectGauge("streamkit_consumer_lag_seconds", dimensions).lastValue
        await store.close()

        #expect(afterAck == 6)
        #expect(afterListing == 0)
        #expect(seconds == 0)
    }

    @Test func acknowledgementsAfterCloseFailWithStoreClosing() async throws {
        let store = Store.inMemory(configuration: StoreFixture.quiet())
        _ = try await store.createConsumer(name: "c", target: .spaces(["s"]))
        await store.close()

        let durable = await streamKitError { try await store.acknowledge(consumer: "c", through: .start) }
        let deferred = await streamKitError {
            try await store.acknowledge(consumer: "c", through: .start, durable: false)
        }
        let create = await streamKitError { _ = try await store.createConsumer(name: "d", target: .spaces(["s"])) }

        #expect(durable?.code == .storeClosing)
        #expect(deferred?.code == .storeClosing)
        #expect(create?.code == .storeClosing)
    }

    @Test func aDamagedConsumersFileFailsTheOpenAsCorrupt() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-consumers-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await Store.open(id: UUID(), directory: directory, configuration: StoreFixture.quiet())
        _ = try await store.createConsumer(name: "c", target: .spaces(["s"]))
        await store.close()
        let path = StoreLayout(root: directory).consumersPath
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 3] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let error = await streamKitError {
            _ = try await Store.open(id: UUID(), directory: directory, configuration: StoreFixture.quiet())
        }

        #expect(error?.code == .corrupt)
    }
}
