import Foundation
import StreamKitTestSupport
import StreamKitWire
import Testing

@testable import StreamKitClient

/// The WebSocket transport across a dropped connection: reads resume exactly where they were, subscriptions
/// subscribe again, an interrupted produce fails (retryably) instead of being replayed.
struct ReconnectTests {
    @Test func aSegmentReadResumesAfterTheServerDropsTheConnection() async throws {
        let tokens = TokenProvider()
        let h = try await webSocketHarness { $0.token = tokens.provider }
        try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: records(1...1_000))
        var iterator = h.client.consumeSegment(store: h.storeID, space: "s", segment: "g").makeAsyncIterator()
        var seen: [UInt64] = []
        while seen.count < 10, let entry = try await iterator.next() { seen.append(entry.sequence) }
        let dials = tokens.count

        try await #require(h.server).restart()  // Every connection drops; the read is mid-way.

        while let entry = try await iterator.next() { seen.append(entry.sequence) }
        #expect(seen == Array(1...1_000))  // Every entry once, in order.
        #expect(tokens.count > dials)  // It did dial again.
        await h.tearDown()
    }

    @Test func aLimitedSegmentReadResumesWithWhatIsLeftOfItsLimit() async throws {
        let h = try await webSocketHarness()
        try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: records(1...1_000))
        var iterator = h.client.consumeSegment(
            store: h.storeID, space: "s", segment: "g", minSequence: 101, maxSequence: 900, limit: 700
        ).makeAsyncIterator()
        var seen: [UInt64] = []
        while seen.count < 300, let entry = try await iterator.next() { seen.append(entry.sequence) }
        try await #require(h.server).restart()
        while let entry = try await iterator.next() { seen.append(entry.sequence) }
        #expect(seen == Array(101...800))
        await h.tearDown()
    }

    @Test func aMultiSpaceReadResumesAfterEachSpacesLastOffset() async throws {
        let h = try await webSocketHarness()
        for round in UInt64(0)..<300 {
            for space in ["a", "b", "c"] {
                try await h.client.publish(
                    store: h.storeID, space: space, segment: "g", payload: Array("\(space)\(round)".utf8))
            }
        }
        let expected = try await collect(h.client.consume(store: h.storeID, spaces: ["a": .start, "c": .start]))
        #expect(expected.count == 600)
        var iterator = h.client.consume(store: h.storeID, spaces: ["a": .start, "c": .start]).makeAsyncIterator()
        var seen: [Entry] = []
        while seen.count < 5, let entry = try await iterator.next() { seen.append(entry) }
        try await #require(h.server).restart()
        while let entry = try await iterator.next() { seen.append(entry) }
        #expect(seen.map(\.offset) == expected.map(\.offset))
        #expect(seen.map { $0.payload.bytes } == expected.map { $0.payload.bytes })
        await h.tearDown()
    }

    @Test func aSpaceReadResumesAfterTheServerComesBack() async throws {
        let h = try await webSocketHarness()
        try await h.client.produce(store: h.storeID, space: "s", segment: "x", records: records(1...600))
        try await h.client.produce(store: h.storeID, space: "s", segment: "y", records: records(1...600))
        var iterator = h.client.consumeSpace(store: h.storeID, space: "s").makeAsyncIterator()
        var seen: [String] = []
        while seen.count < 3, let entry = try await iterator.next() { seen.append("\(entry.segment)\(entry.sequence)") }
        let server = try #require(h.server)
        await server.stop()
        await eventually("connection lost") { await !h.isConnected() }
        try await server.resume()
        while let entry = try await iterator.next() { seen.append("\(entry.segment)\(entry.sequence)") }
        #expect(seen == (1...600).map { "x\($0)" } + (1...600).map { "y\($0)" })
        await h.tearDown()
    }

    @Test func readsDoNotResumeWhenResumingIsOff() async throws {
        let h = try await webSocketHarness { $0.resumeReads = false }
        try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: records(1...1_000))
        var iterator = h.client.consumeSegment(store: h.storeID, space: "s", segment: "g").makeAsyncIterator()
        _ = try await iterator.next()
        try await #require(h.server).restart()
        do {
            while try await iterator.next() != nil {}
            Issue.record("expected the read to fail")
        } catch let error as StreamKitError {
            #expect(error.code == .storeUnavailable)
            #expect(error.isRetryable)
        }
        await h.tearDown()
    }

    @Test func anInterruptedProduceFailsRetryablyAndIsNotReplayed() async throws {
        let h = try await webSocketHarness()
        let (upstream, feed) = AsyncStream<Record>.makeStream()
        let produce = Task {
            try await collect(h.client.produce(store: h.storeID, space: "s", segment: "g", records: upstream))
        }
        for record in records(1...3) { feed.yield(record) }
        await eventually("produce stream open") { await h.openStreams() == 1 }

        try await #require(h.server).restart()

        do {
            _ = try await produce.value
            Issue.record("expected the produce to fail")
        } catch let error as StreamKitError {
            #expect(error.code == .storeUnavailable)
            #expect(error.isRetryable)
        }
        feed.finish()
        // The transaction never committed, and nothing was sent again on the new connection.
        #expect(try await h.client.peek(store: h.storeID, space: "s", segment: "g") == nil)
        await h.tearDown()
    }

    @Test func aSubscriptionSubscribesAgainAndGetsAFreshSnapshot() async throws {
        let h = try await webSocketHarness()
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [1])
        let seen = Box<[UInt64]>([])
        let subscription = try await h.client.subscribe(store: h.storeID, space: "s", segment: "g") { status in
            seen.update { $0.append(status.lastSequence) }
        }
        await eventually("snapshot") { seen.get == [1] }

        let server = try #require(h.server)
        await server.stop()
        await eventually("connection lost") { await !h.isConnected() }
        // Committed while the client is cut off: only the new snapshot can tell it.
        let store = try await h.registry.store(h.storeID)
        try await store.publish(space: "s", segment: "g", payload: [2])
        try await server.resume()

        await eventually("fresh snapshot") { seen.get.last == 2 }
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [3])
        await eventually("live again") { seen.get.last == 3 }
        #expect(seen.get == [1, 2, 3])
        let status = subscription.status()
        #expect(status.state == .active)
        #expect(status.failureCount == 0)
        await h.tearDown()
    }

    @Test func aWildcardSubscriptionSurvivesARestart() async throws {
        let h = try await webSocketHarness()
        let seen = Box<[String: UInt64]>([:])
        _ = try await h.client.subscribe(store: h.storeID, space: "s") { status in
            seen.update { $0[status.segment] = status.lastSequence }
        }
        try await h.client.publish(store: h.storeID, space: "s", segment: "a", payload: [])
        await eventually("first status") { seen.get["a"] == 1 }
        try await h.restartServerAndReconnect()
        try await h.client.publish(store: h.storeID, space: "s", segment: "b", payload: [])
        await eventually("after the restart") { seen.get == ["a": 1, "b": 1] }
        await h.tearDown()
    }
}
