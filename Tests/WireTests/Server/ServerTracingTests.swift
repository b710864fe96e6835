import InMemoryTracing
import StreamKitEngine
import StreamKitTestSupport
import StreamKitWire
import Testing
import Tracing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Trace context crosses the wire on stream opens and the server's span joins the caller's trace.
@Suite(.timeLimit(.minutes(1)))
struct ServerTracingTests {
    @Test("a stream opened with a traceparent is served inside a server span that is a child of the caller's span")
    func serverSpanJoinsTheCallersTrace() async throws {
        let tracer = W3CTestTracer.installed
        let store = UUID()
        let caller = tracer.startSpan("caller", context: .topLevel)
        let traceparent = WireTraceContext.traceparent(of: caller.context)
        caller.end()

        try await withTestServer { port, _ in
            try await withTestClient(port: port) { client in
                let (id, answers) = try await client.openRaw(
                    .publish(space: "s", segment: "a", payload: [1], metadata: [:]), store: store,
                    traceparent: traceparent, closeAfterOpen: true)
                _ = try await client.collect(id, answers)
            }
        }

        let spans = tracer.finishedSpans(traceID: caller.traceID).filter { $0.operationName != "caller" }
        #expect(traceparent == "00-\(caller.traceID)-\(caller.spanID)-01")
        #expect(spans.map(\.operationName) == ["streamkit.server.publish"])
        #expect(spans.first?.parentSpanID == caller.spanID)
        #expect(spans.first?.attributes["streamkit.store_id"]?.toSpanAttribute() == .string(store.uuidString))
    }
}
