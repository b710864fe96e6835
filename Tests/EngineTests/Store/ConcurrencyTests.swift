import Foundation
import Testing

@testable import StreamKitEngine

@Suite(.timeLimit(.minutes(1))) struct ConcurrencyTests {
    @Test(
        "racing producers on one segment: exactly one transaction per sequence wins, the rest get conflicts",
        arguments: Backend.allCases)
    func compareAndAppendRace(backend: Backend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            let producers = 8
            let transactions = 1_000
            let outcomes = try await withThrowingTaskGroup(of: (wins: Int, conflicts: Int).self) { group in
                for p in 0..<producers {
                    group.addTask {
                        var wins = 0
                        var conflicts = 0
                        var next: UInt64 = 1
                        while next <= UInt64(transactions * 5) {
                            do {
                                try await store.produce(
                                    space: "s", segment: "race", records: records(next...(next + 4), tag: "p\(p)"))
                                wins += 1
                                next += 5
                            } catch let error as StreamKitError where error.code == .sequenceConflict {
                                conflicts += 1
                                next = try #require(error.expectedSequence)
                            }
                        }
                        return (wins, conflicts)
                    }
                }
                return try await group.reduce(into: [(wins: Int, conflicts: Int)]()) { $0.append($1) }
            }
            #expect(outcomes.reduce(0) { $0 + $1.wins } == transactions)
            let entries = try await store.consumeSegment(space: "s", segment: "race").collect()
            #expect(entries.map(\.sequence) == Array(1...UInt64(transactions * 5)))
            // Every transaction is whole: one producer's tag across its five records.
            for chunk in stride(from: 0, to: entries.count, by: 5) {
                let tags = Set(
                    entries[chunk..<(chunk + 5)].map {
                        String(decoding: $0.payload, as: UTF8.self).split(separator: "-")[0]
                    })
                #expect(tags.count == 1)
            }
            let space = try await store.consumeSpace(space: "s").collect()
            #expect(space.count == transactions * 5)
            #expect(Set(space.map(\.sequence)).count == transactions * 5)
        }
    }

    @Test(
        "100 segments produced in parallel are each contiguous and the space holds every entry once",
        arguments: Backend.allCases)
    func parallelSegments(backend: Backend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            try await withThrowingTaskGroup(of: Void.self) { group in
                for s in 0..<100 {
                    group.addTask {
                        for round in 0..<5 {
                            let first = UInt64(round * 4 + 1)
                            try await store.produce(space: "s", segment: "g\(s)", records: records(first...(first + 3)))
                        }
                    }
                }
                try await group.waitForAll()
            }
            for s in [0, 42, 99] {
                let entries = try await store.consumeSegment(space: "s", segment: "g\(s)").collect()
                #expect(entries.map(\.sequence) == Array(1...20))
            }
            let space = try await store.consumeSpace(space: "s").collect()
            #expect(space.count == 2000)
            #expect(space.map(\.position) == Array(1...2000))
            #expect(await store.segments(space: "s").count == 100)
        }
    }

    @Test(
        "concurrent publishes to one segment reach the log in the order of their sequences: a space read shows them rising",
        arguments: Backend.allCases)
    func concurrentPublishesKeepSequenceOrderInTheLog(backend: Backend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            let publishers = 8
            let each = 200
            try await withThrowingTaskGroup(of: Void.self) { group in
                for p in 0..<publishers {
                    group.addTask {
                        for i in 0..<each {
                            try await store.publish(space: "s", segment: "one", payload: Array("p\(p)i\(i)".utf8))
                        }
                    }
                }
                try await group.waitForAll()
            }

            let space = try await store.consumeSpace(space: "s").collect()

            #expect(space.count == publishers * each)
            let outOfOrder = zip(space, space.dropFirst()).filter { $0.sequence >= $1.sequence }
            #expect(
                outOfOrder.isEmpty,
                "\(outOfOrder.count) pairs out of order, first \(outOfOrder.first.map { ($0.0.sequence, $0.1.sequence) } as Any)"
            )
        }
    }
}
