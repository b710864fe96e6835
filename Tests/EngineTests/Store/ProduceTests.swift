import Foundation
import Testing

@testable import StreamKitEngine

@Suite struct ProduceTests {
    @Test(
        "produced records come back in sequence order with the store's positions and timestamps",
        arguments: Backend.allCases)
    func roundTrip(backend: Backend) async throws {
        try await withStore(backend) { fixture in
            let statuses = try await fixture.store.produce(space: "orders", segment: "o-1", records: records(1...250))
            #expect(statuses.count == 1)
            #expect(statuses[0].firstSequence == 1 && statuses[0].lastSequence == 250)

            let entries = try await fixture.store.consumeSegment(space: "orders", segment: "o-1").collect()
            #expect(entries.map(\.sequence) == Array(1...250))
            #expect(entries.map(\.payload.bytes) == records(1...250).map(\.payload))
            #expect(entries[6].metadata == ["n": "7"])
            #expect(
                zip(entries, entries.dropFirst()).allSatisfy {
                    $0.timestamp < $1.timestamp && $0.position < $1.position
                })
            #expect(entries.first?.timestamp == statuses[0].firstTimestamp)
            #expect(entries.last?.timestamp == statuses[0].lastTimestamp)
        }
    }

    @Test(
        "a long produce is cut into transactions of the configured size, one status each", arguments: Backend.allCases)
    func chunking(backend: Backend) async throws {
        var configuration = StoreFixture.quiet()
        configuration.maxRecordsPerTransaction = 100
        try await withStore(backend, configuration: configuration) { fixture in
            let statuses = try await fixture.store.produce(space: "s", segment: "g", records: records(1...350))
            #expect(statuses.map(\.firstSequence) == [1, 101, 201, 301])
            #expect(statuses.map(\.lastSequence) == [100, 200, 300, 350])
            let entries = try await fixture.store.consumeSegment(space: "s", segment: "g").collect()
            #expect(Set(entries.map(\.transactionID)).count == 4)
            let expectedNumbers: [UInt64] = (0..<350).map { (i: Int) -> UInt64 in UInt64(i / 100 + 1) }
            #expect(entries.map(\.transactionNumber) == expectedNumbers)
        }
    }

    @Test("produce fails with a sequence conflict when the first sequence is not last+1", arguments: Backend.allCases)
    func conflictOnFirstSequence(backend: Backend) async throws {
        try await withStore(backend) { fixture in
            try await fixture.store.produce(space: "s", segment: "g", records: records(1...10))
            let error = await streamKitError {
                try await fixture.store.produce(space: "s", segment: "g", records: records(12...13))
            }
            #expect(error?.code == .sequenceConflict)
            #expect(error?.expectedSequence == 11)
            #expect(error?.gotSequence == 12)
            let again = await streamKitError {
                try await fixture.store.produce(space: "s", segment: "g", records: records(5...6))
            }
            #expect(again?.expectedSequence == 11)
            let stored = try await fixture.store.consumeSegment(space: "s", segment: "g").collect()
            #expect(stored.count == 10)
        }
    }

    @Test(
        "a produce whose sequences are not contiguous fails with a sequence conflict and commits nothing of that transaction",
        arguments: Backend.allCases)
    func conflictInsideProduce(backend: Backend) async throws {
        try await withStore(backend) { fixture in
            let gappy = records(1...3) + records(5...6)
            let error = await streamKitError {
                try await fixture.store.produce(space: "s", segment: "g", records: gappy)
            }
            #expect(error?.code == .sequenceConflict)
            #expect(error?.expectedSequence == 4)
            let stored = try await fixture.store.consumeSegment(space: "s", segment: "g").collect()
            #expect(stored.isEmpty)
        }
    }

    @Test("earlier transactions stay committed when a later one of the same produce fails", arguments: Backend.allCases)
    func partialSuccess(backend: Backend) async throws {
        var configuration = StoreFixture.quiet()
        configuration.maxRecordsPerTransaction = 5
        try await withStore(backend, configuration: configuration) { fixture in
            let error = await streamKitError {
                try await fixture.store.produce(space: "s", segment: "g", records: records(1...7) + records(9...9))
            }
            #expect(error?.code == .sequenceConflict)
            let entries = try await fixture.store.consumeSegment(space: "s", segment: "g").collect()
            #expect(entries.map(\.sequence) == [1, 2, 3, 4, 5])
        }
    }

    @Test("bad arguments are refused with typed errors naming the limit", arguments: Backend.allCases)
    func invalidArguments(backend: Backend) async throws {
        var configuration = StoreFixture.quiet()
        configuration.maxPayloadBytes = 100
        try await withStore(backend, configuration: configuration) { fixture in
            let store = fixture.store
            #expect(
                await streamKitError { try await store.produce(space: "", segment: "g", records: records(1...1)) }?.code
                    == .invalidArgument)
            #expect(
                await streamKitError { try await store.produce(space: "s", segment: "", records: records(1...1)) }?.code
                    == .invalidArgument)
            #expect(
                await streamKitError { try await store.produce(space: "s", segment: "*", records: records(1...1)) }?
                    .code == .invalidArgument)
            let long = String(repeating: "x", count: 257)
            let nameError = await streamKitError {
                try await store.produce(space: long, segment: "g", records: records(1...1))
            }
            #expect(nameError?.code == .invalidArgument)
            #expect(nameError?.limit == 256)
            let zero = [Record(sequence: 0, payload: [1])]
            #expect(
                await streamKitError { try await store.produce(space: "s", segment: "g", records: zero) }?.code
                    == .invalidArgument)
            let big = [Record(sequence: 1, payload: [UInt8](repeating: 1, count: 101))]
            let bigError = await streamKitError { try await store.produce(space: "s", segment: "g", records: big) }
            #expect(bigError?.code == .limitExceeded)
            #expect(bigError?.limit == 100 && bigError?.value == 101)
            let heavy = [Record(sequence: 1, payload: [1], metadata: ["k": String(repeating: "v", count: 64 << 10)])]
            let heavyError = await streamKitError { try await store.produce(space: "s", segment: "g", records: heavy) }
            #expect(heavyError?.code == .limitExceeded)
            #expect(heavyError?.limit == 64 << 10 && heavyError?.value == (64 << 10) + 1)
            #expect(await store.spaces().isEmpty)
        }
    }

    @Test("publish appends at the next sequence and returns its status", arguments: Backend.allCases)
    func publish(backend: Backend) async throws {
        try await withStore(backend) { fixture in
            try await fixture.store.produce(space: "s", segment: "g", records: records(1...3))
            let status = try await fixture.store.publish(space: "s", segment: "g", payload: [9], metadata: ["k": "v"])
            #expect(status.firstSequence == 4 && status.lastSequence == 4)
            let next = try await fixture.store.publish(space: "s", segment: "new", payload: [1])
            #expect(next.firstSequence == 1)
            let last = try await fixture.store.peek(space: "s", segment: "g")
            #expect(last?.sequence == 4)
            #expect(last?.payload == [9])
            #expect(last?.metadata == ["k": "v"])
        }
    }

    @Test("peek of an empty or unknown segment returns nothing rather than an error", arguments: Backend.allCases)
    func peekUnknown(backend: Backend) async throws {
        try await withStore(backend) { fixture in
            let last = try await fixture.store.peek(space: "s", segment: "none")
            #expect(last == nil)
        }
    }

    @Test("spaces and segments are listed sorted", arguments: Backend.allCases)
    func inventory(backend: Backend) async throws {
        try await withStore(backend) { fixture in
            for (space, segment) in [("b", "z"), ("a", "y"), ("b", "x"), ("a", "w")] {
                try await fixture.store.produce(space: space, segment: segment, records: records(1...1))
            }
            #expect(await fixture.store.spaces() == ["a", "b"])
            #expect(await fixture.store.segments(space: "b") == ["x", "z"])
            #expect(await fixture.store.segments(space: "none") == [])
        }
    }

    @Test("produce after close fails with storeClosing", arguments: Backend.allCases)
    func produceAfterClose(backend: Backend) async throws {
        try await withStore(backend) { fixture in
            await fixture.store.close()
            let error = await streamKitError {
                try await fixture.store.produce(space: "s", segment: "g", records: records(1...1))
            }
            #expect(error?.code == .storeClosing)
        }
    }
}
