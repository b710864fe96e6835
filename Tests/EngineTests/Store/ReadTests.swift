import Foundation
import Testing

@testable import StreamKitEngine

@Suite(.timeLimit(.minutes(1))) struct ReadTests {
    @Test(
        "consumeSegment honours inclusive sequence bounds, exclusive min timestamp, inclusive max timestamp and limit",
        arguments: Backend.allCases)
    func segmentBounds(backend: Backend) async throws {
        var configuration = StoreFixture.quiet()
        configuration.maxRecordsPerTransaction = 10
        try await withStore(backend, configuration: configuration) { fixture in
            let store = fixture.store
            try await store.produce(space: "s", segment: "g", records: records(1...100))
            let all = try await store.consumeSegment(space: "s", segment: "g").collect()

            let middle = try await store.consumeSegment(space: "s", segment: "g", minSequence: 10, maxSequence: 20)
                .collect()
            #expect(middle.map(\.sequence) == Array(10...20))
            let limited = try await store.consumeSegment(space: "s", segment: "g", minSequence: 95, limit: 3).collect()
            #expect(limited.map(\.sequence) == [95, 96, 97])
            let afterTime = try await store.consumeSegment(space: "s", segment: "g", minTimestamp: all[49].timestamp)
                .collect()
            #expect(afterTime.first?.sequence == 51)
            let untilTime = try await store.consumeSegment(space: "s", segment: "g", maxTimestamp: all[9].timestamp)
                .collect()
            #expect(untilTime.map(\.sequence) == Array(1...10))
            let none = try await store.consumeSegment(space: "s", segment: "unknown").collect()
            #expect(none.isEmpty)
        }
    }

    @Test(
        "a segment read streams far more entries than one batch, interleaved with other segments",
        arguments: Backend.allCases)
    func segmentAcrossBatchesAndBlocks(backend: Backend) async throws {
        var configuration = StoreFixture.quiet()
        configuration.readBatchSize = 64
        configuration.maxRecordsPerTransaction = 50
        try await withStore(backend, configuration: configuration) { fixture in
            for round in 0..<10 {
                for segment in ["a", "b", "c"] {
                    let first = UInt64(round * 50 + 1)
                    try await fixture.store.produce(
                        space: "s", segment: segment, records: records(first...(first + 49), tag: segment))
                }
            }
            for segment in ["a", "b", "c"] {
                let entries = try await fixture.store.consumeSegment(space: "s", segment: segment).collect()
                #expect(entries.map(\.sequence) == Array(1...500))
                #expect(
                    entries.allSatisfy {
                        $0.segment == segment && $0.payload.bytes == Array("\(segment)-\($0.sequence)".utf8)
                    })
            }
        }
    }

    @Test("a space read returns every segment's entries in commit order", arguments: Backend.allCases)
    func spaceOrder(backend: Backend) async throws {
        try await withStore(backend) { fixture in
            var expected: [String] = []
            for round in 1...5 {
                for segment in 0..<100 {
                    let seq = UInt64(round)
                    try await fixture.store.produce(space: "s", segment: "seg-\(segment)", records: records(seq...seq))
                    expected.append("seg-\(segment)/\(round)")
                }
                try await fixture.store.produce(
                    space: "other", segment: "x", records: records(UInt64(round)...UInt64(round)))
            }
            let entries = try await fixture.store.consumeSpace(space: "s").collect()
            #expect(entries.map { "\($0.segment)/\($0.sequence)" } == expected)
            #expect(zip(entries, entries.dropFirst()).allSatisfy { $0.position < $1.position })
        }
    }

    @Test("resuming a space read from the last offset never skips and never repeats", arguments: Backend.allCases)
    func resumeByOffset(backend: Backend) async throws {
        try await withStore(backend) { fixture in
            for segment in 0..<20 {
                try await fixture.store.produce(space: "s", segment: "g\(segment)", records: records(1...30))
            }
            var seen: [UInt64] = []
            var offset = Offset.start
            while true {
                let page = try await fixture.store.consumeSpace(space: "s", offset: offset, limit: 37).collect()
                if page.isEmpty { break }
                seen += page.map(\.position)
                offset = page[page.count - 1].offset
                if let token = Offset(token: offset.token) { offset = token }
            }
            #expect(seen.count == 600)
            #expect(seen == seen.sorted() && Set(seen).count == 600)
        }
    }

    @Test("an offset the store did not issue fails with invalidOffset", arguments: Backend.allCases)
    func invalidOffset(backend: Backend) async throws {
        try await withStore(backend) { fixture in
            try await fixture.store.produce(space: "s", segment: "g", records: records(1...5))
            let forged = Offset(position: 3, timestamp: 42)
            let error = await streamKitError {
                _ = try await fixture.store.consumeSpace(space: "s", offset: forged).collect()
            }
            #expect(error?.code == .invalidOffset)
            let beyond = Offset(position: 999, timestamp: 1)
            let later = await streamKitError {
                _ = try await fixture.store.consumeSpace(space: "s", offset: beyond).collect()
            }
            #expect(later?.code == .invalidOffset)
        }
    }

    @Test("a multi-space read merges spaces in commit order, each after its own offset", arguments: Backend.allCases)
    func multiSpace(backend: Backend) async throws {
        try await withStore(backend) { fixture in
            for i in 1...30 {
                let space = ["a", "b", "c"][i % 3]
                try await fixture.store.publish(space: space, segment: "g", payload: Array("\(i)".utf8))
            }
            let firstA = try await fixture.store.consumeSpace(space: "a", limit: 3).collect()
            let merged = try await fixture.store.consume(spaces: ["a": firstA[2].offset, "b": .start]).collect()
            #expect(merged.allSatisfy { $0.space != "c" })
            #expect(merged.filter { $0.space == "a" }.count == 7)
            #expect(merged.filter { $0.space == "b" }.count == 10)
            #expect(zip(merged, merged.dropFirst()).allSatisfy { $0.position < $1.position })
        }
    }

    @Test(
        "a space read that runs while producers write sees each committed entry once, in order, then finishes",
        arguments: Backend.allCases)
    func readWhileProducing(backend: Backend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            let writers = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for w in 0..<4 {
                        group.addTask {
                            for n in 1...50 {
                                try await store.publish(space: "s", segment: "w\(w)", payload: [UInt8(n)])
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            var seen: [UInt64] = []
            var offset = Offset.start
            // A regression fails the test instead of hanging CI (under the 1-minute limit; a loaded machine needed more than 20 s).
            let deadline = ContinuousClock.now + .seconds(45)
            while seen.count < 200 && ContinuousClock.now < deadline {
                let page = try await store.consumeSpace(space: "s", offset: offset).collect()
                seen += page.map(\.position)
                if let last = page.last { offset = last.offset }
                if page.isEmpty { await Task.yield() }
            }
            try await writers.value
            #expect(seen == Array(1...200))
        }
    }
}
