import Foundation
import StreamKitLogFiles
import Testing

@testable import StreamKitEngine

/// Reads served from sealed blocks rather than the tail: the tail keeps almost nothing, blocks are small, so
/// segment and space reads hand out windows of decoded blocks and switch to batches where blocks are shared.
@Suite(.timeLimit(.minutes(1))) struct SealedBlockReadTests {
    static func configuration() -> StoreConfiguration {
        var configuration = StoreFixture.quiet()
        configuration.tailBytes = 1
        configuration.log.blockBytes = 1024
        configuration.readBatchSize = 50
        return configuration
    }

    /// Space "x": segment "a" in transactions of 40 (exact runs over several blocks) and segment "b" one entry
    /// at a time between them; space "y" interleaved with both.
    static func fill(_ store: Store) async throws {
        for round in 0..<8 {
            let first = UInt64(round * 40 + 1)
            try await store.produce(space: "x", segment: "a", records: records(first...(first + 39), tag: "a"))
            try await store.publish(space: "x", segment: "b", payload: Array("b\(round)".utf8))
            try await store.publish(space: "y", segment: "c", payload: Array("c\(round)".utf8))
        }
    }

    @Test(
        "a segment read from sealed blocks returns each sequence once, in order, whatever the bounds and pages",
        arguments: Backend.allCases)
    func segmentFromBlocks(backend: Backend) async throws {
        try await withStore(backend, configuration: Self.configuration()) { fixture in
            let store = fixture.store
            try await Self.fill(store)

            let all = try await store.consumeSegment(space: "x", segment: "a").collect()
            var paged: [UInt64] = []
            var next: UInt64 = 1
            while true {
                let page = try await store.consumeSegment(space: "x", segment: "a", minSequence: next, limit: 37)
                    .collect()
                guard let last = page.last else { break }
                paged += page.map(\.sequence)
                next = last.sequence + 1
            }
            let middle = try await store.consumeSegment(space: "x", segment: "a", minSequence: 33, maxSequence: 201)
                .collect()
            let interleaved = try await store.consumeSegment(space: "x", segment: "b").collect()

            #expect(all.map(\.sequence) == Array(1...320))
            #expect(all.allSatisfy { $0.space == "x" && $0.segment == "a" })
            #expect(all.map { String(decoding: $0.payload.bytes, as: UTF8.self) } == (1...320).map { "a-\($0)" })
            #expect(paged == Array(1...320))
            #expect(middle.map(\.sequence) == Array(33...201))
            #expect(interleaved.map(\.sequence) == Array(1...8))
        }
    }

    @Test(
        "a space read from sealed blocks skips other spaces and resumes from offsets without loss or repeats",
        arguments: Backend.allCases)
    func spaceFromBlocks(backend: Backend) async throws {
        try await withStore(backend, configuration: Self.configuration()) { fixture in
            let store = fixture.store
            try await Self.fill(store)

            let all = try await store.consumeSpace(space: "x").collect()
            var paged: [UInt64] = []
            var offset = Offset.start
            while true {
                let page = try await store.consumeSpace(space: "x", offset: offset, limit: 37).collect()
                guard let last = page.last else { break }
                paged += page.map(\.position)
                offset = last.offset
            }
            let merged = try await store.consume(spaces: ["x": all[99].offset, "y": .start]).collect()

            #expect(all.count == 328)
            #expect(all.allSatisfy { $0.space == "x" })
            #expect(zip(all, all.dropFirst()).allSatisfy { $0.position < $1.position })
            #expect(paged == all.map(\.position))
            #expect(merged.filter { $0.space == "x" }.map(\.position) == all.dropFirst(100).map(\.position))
            #expect(merged.filter { $0.space == "y" }.count == 8)
            #expect(zip(merged, merged.dropFirst()).allSatisfy { $0.position < $1.position })
        }
    }

    @Test("readers of the same blocks at once each get every entry", arguments: Backend.allCases)
    func concurrentReaders(backend: Backend) async throws {
        try await withStore(backend, configuration: Self.configuration()) { fixture in
            let store = fixture.store
            try await Self.fill(store)

            let counts = try await withThrowingTaskGroup(of: [UInt64].self) { group in
                for reader in 0..<6 {
                    group.addTask {
                        reader.isMultiple(of: 2)
                            ? try await store.consumeSegment(space: "x", segment: "a").collect().map(\.sequence)
                            : try await store.consumeSpace(space: "x").collect().filter { $0.segment == "a" }.map(
                                \.sequence)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }

            #expect(counts.count == 6)
            #expect(counts.allSatisfy { $0 == Array(1...320) })
        }
    }
}
