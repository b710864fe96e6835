import Foundation
import InMemoryTracing
import StreamKitClient
import StreamKitTestSupport
import Testing
import Tracing

/// Client spans (swift-distributed-tracing): one per operation, a child of the caller's span, and over WebSocket
/// the parent of the server's span. The tracer is the process-wide ``W3CTestTracer``; each test tells its spans
/// apart by its caller span's trace id.
@Suite(.timeLimit(.minutes(1)))
struct ClientTracingTests {
    private let tracer = W3CTestTracer.installed

    @Test(
        "a publish inside a caller's span runs in a streamkit.client.publish span that is the caller's child and, over WebSocket, the server span's parent",
        arguments: TransportKind.allCases)
    func publishSpanJoinsTheCallersTrace(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let caller = tracer.startSpan("caller", context: .topLevel)

        try await tracer.inside(caller) {
            _ = try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [1])
        }
        caller.end()

        let publish = try #require(tracer.finishedSpans(of: caller, named: "streamkit.client.publish").first)
        #expect(publish.parentSpanID == caller.spanID)
        #expect(publish.kind == .client)
        #expect(publish.string("streamkit.store_id") == h.storeID.uuidString)
        #expect(publish.string("streamkit.space") == "s")
        #expect(publish.string("streamkit.segment") == "g")
        if kind == .webSocket {
            await eventually("server span") {
                !tracer.finishedSpans(of: caller, named: "streamkit.server.publish").isEmpty
            }
            let server = try #require(tracer.finishedSpans(of: caller, named: "streamkit.server.publish").first)
            #expect(server.traceID == caller.traceID)
            #expect(server.parentSpanID == publish.spanID)
        }
        await h.tearDown()
    }

    @Test(
        "a read's span stays open while entries are taken and ends when the stream is fully consumed",
        arguments: TransportKind.allCases)
    func readSpanEndsWhenTheStreamIsConsumed(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: records(1...3))
        let caller = tracer.startSpan("caller", context: .topLevel)

        try await tracer.inside(caller) {
            var iterator = h.client.consumeSegment(store: h.storeID, space: "s", segment: "g").makeAsyncIterator()
            for _ in 1...3 { _ = try await iterator.next() }
            #expect(tracer.finishedSpans(of: caller, named: "streamkit.client.consumeSegment").isEmpty)
            #expect(try await iterator.next() == nil)
        }
        caller.end()

        let read = try #require(tracer.finishedSpans(of: caller, named: "streamkit.client.consumeSegment").first)
        #expect(read.parentSpanID == caller.spanID)
        #expect(read.string("streamkit.segment") == "g")
        #expect(read.errors.isEmpty)
        if kind == .webSocket {
            await eventually("server span") {
                !tracer.finishedSpans(of: caller, named: "streamkit.server.consumeSegment").isEmpty
            }
            let server = try #require(tracer.finishedSpans(of: caller, named: "streamkit.server.consumeSegment").first)
            #expect(server.parentSpanID == read.spanID)
        }
        await h.tearDown()
    }

    @Test("a read dropped before its end ends its span", arguments: TransportKind.allCases)
    func droppedReadEndsItsSpan(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: records(1...5))
        let caller = tracer.startSpan("caller", context: .topLevel)

        try await tracer.inside(caller) {
            var iterator = h.client.consumeSegment(store: h.storeID, space: "s", segment: "g").makeAsyncIterator()
            _ = try await iterator.next()
        }  // The iterator is gone here.
        caller.end()

        let read = try #require(tracer.finishedSpans(of: caller, named: "streamkit.client.consumeSegment").first)
        #expect(read.parentSpanID == caller.spanID)
        await h.tearDown()
    }

    @Test("a failed operation records its error on its span", arguments: TransportKind.allCases)
    func failedOperationRecordsItsError(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let caller = tracer.startSpan("caller", context: .topLevel)

        let code = await tracer.inside(caller) {
            await errorCode {
                try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: records(5...6))
            }
        }
        caller.end()

        #expect(code == .sequenceConflict)
        let produce = try #require(tracer.finishedSpans(of: caller, named: "streamkit.client.produce").first)
        #expect(produce.errors.count == 1)
        #expect((produce.errors.first?.error as? StreamKitError)?.code == .sequenceConflict)
        #expect(produce.status?.code == .error)
        await h.tearDown()
    }

    @Test(
        "a read resumed after a lost connection reopens in the read's trace: each server span is the client span's child"
    )
    func resumedReadCarriesTheReadsContext() async throws {
        let h = try await observedWebSocketHarness()
        try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: records(1...1_000))
        let caller = tracer.startSpan("caller", context: .topLevel)

        let seen = try await tracer.inside(caller) {
            var iterator = h.client.consumeSegment(store: h.storeID, space: "s", segment: "g").makeAsyncIterator()
            var seen = 0
            while seen < 10, try await iterator.next() != nil { seen += 1 }
            try await #require(h.server).restart()  // The read is mid-way: it reopens on the next connection.
            while try await iterator.next() != nil { seen += 1 }
            return seen
        }
        caller.end()

        #expect(seen == 1_000)
        let read = try #require(tracer.finishedSpans(of: caller, named: "streamkit.client.consumeSegment").first)
        await eventually("both server spans") {
            tracer.finishedSpans(of: caller, named: "streamkit.server.consumeSegment").count >= 2
        }
        let servers = tracer.finishedSpans(of: caller, named: "streamkit.server.consumeSegment")
        #expect(servers.allSatisfy { $0.parentSpanID == read.spanID })
        await h.tearDown()
    }

    @Test("a subscription that subscribes again after the server restarts carries its subscribe span's context")
    func resubscriptionCarriesTheSubscribeContext() async throws {
        let h = try await observedWebSocketHarness()
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [1])
        let caller = tracer.startSpan("caller", context: .topLevel)
        let seen = Box<[UInt64]>([])

        let subscription = try await tracer.inside(caller) {
            try await h.client.subscribe(store: h.storeID, space: "s", segment: "g") { status in
                seen.update { $0.append(status.lastSequence) }
            }
        }
        caller.end()
        await eventually("snapshot") { seen.get == [1] }
        try await h.restartServerAndReconnect()
        await eventually("fresh snapshot") { seen.get == [1, 1] }
        await subscription.cancel()
        await h.tearDown()

        let subscribe = try #require(tracer.finishedSpans(of: caller, named: "streamkit.client.subscribe").first)
        #expect(subscribe.parentSpanID == caller.spanID)
        await eventually("both server spans") {
            tracer.finishedSpans(of: caller, named: "streamkit.server.subscribe").count == 2
        }
        let servers = tracer.finishedSpans(of: caller, named: "streamkit.server.subscribe")
        #expect(servers.allSatisfy { $0.parentSpanID == subscribe.spanID })
    }
}
