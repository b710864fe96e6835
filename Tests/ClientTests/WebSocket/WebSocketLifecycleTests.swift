import Foundation
import StreamKitTestSupport
import StreamKitWire
import Testing

@testable import StreamKitClient

/// Connections of the WebSocket transport: opened lazily and shared, re-dialled on demand, and all stopped by
/// `close()`.
struct WebSocketLifecycleTests {
    @Test func closeIsIdempotentAndLeavesNoTaskRunning() async throws {
        let h = try await webSocketHarness()
        try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: records(1...1_000))
        let subscription = try await h.client.subscribe(store: h.storeID, space: "s") { _ in }
        var reading = h.client.consumeSegment(store: h.storeID, space: "s", segment: "g").makeAsyncIterator()
        _ = try await reading.next()  // A read stalled mid-way on credit.
        let connections = try #require(h.connections)
        #expect(await connections.runningTaskCount == 1)  // The one connection's session.

        async let first: Void = h.client.close()
        async let second: Void = h.client.close()
        _ = await (first, second)
        await h.client.close()

        #expect(await connections.runningTaskCount == 0)
        #expect(h.client.backgroundTaskCount == 0)
        #expect(subscription.status().state == .cancelled)
        #expect(await errorCode { while try await reading.next() != nil {} } == .storeClosing)
        #expect(await errorCode { _ = try await h.client.spaces(store: h.storeID) } == .storeClosing)
        await h.tearDown()
    }

    @Test func closeStopsTheReconnectLoopWhileTheServerIsDown() async throws {
        let h = try await webSocketHarness()
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [])
        let connections = try #require(h.connections)
        await h.server?.stop()
        await eventually("reconnecting") { await connections.currentConnection == nil }
        await eventually("redialled at least twice") { await connections.dialCount >= 3 }
        #expect(await connections.runningTaskCount >= 1)  // The reconnect loop.
        await h.client.close()
        #expect(await connections.runningTaskCount == 0)
        let dials = await connections.dialCount
        try await h.server?.resume()
        #expect(await connections.dialCount == dials)  // Nothing dials after close.
        await h.tearDown()
    }

    @Test func concurrentCallsShareOneConnection() async throws {
        let tokens = TokenProvider()
        let h = try await webSocketHarness { $0.token = tokens.provider }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<20 {
                group.addTask {
                    try await h.client.publish(store: h.storeID, space: "s", segment: "g\(index)", payload: [])
                }
            }
            try await group.waitForAll()
        }
        #expect(tokens.count == 1)
        #expect(try await h.client.segments(store: h.storeID, space: "s").count == 20)
        await h.tearDown()
    }

    @Test func aCallWhileTheServerIsDownIsRetriedUntilItComesBack() async throws {
        let h = try await webSocketHarness()
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [1])
        let server = try #require(h.server)
        await server.stop()
        await eventually("connection lost") { await !h.isConnected() }
        let call = Task { try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [2]) }
        let connections = try #require(h.connections)
        let before = await connections.dialCount
        await eventually("dials fail meanwhile") { await connections.dialCount >= before + 2 }
        try await server.resume()
        #expect(try await call.value.lastSequence == 2)
        await h.tearDown()
    }

    @Test func anAbandonedReadIsResetOnTheServer() async throws {
        let h = try await webSocketHarness()
        try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: records(1...1_000))
        do {
            var reading = h.client.consumeSegment(store: h.storeID, space: "s", segment: "g").makeAsyncIterator()
            _ = try await reading.next()
            #expect(await h.openStreams() == 1)
        }
        await eventually("stream reset") { await h.openStreams() == 0 }
        await h.tearDown()
    }
}
