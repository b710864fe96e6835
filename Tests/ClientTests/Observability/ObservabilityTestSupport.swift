import Foundation
import InMemoryTracing
import MetricsTestKit
import StreamKitClient
import StreamKitTestSupport
import StreamKitWire
import Tracing

/// A WebSocket harness for the observability tests that restart the server: real time for the client's timers,
/// fast retries and reconnects (for about 50 s: the budget only runs out when a test is failing), a small stream
/// window (so a read cannot be received whole before a restart), and the client's metrics in `metrics` when given.
func observedWebSocketHarness(metrics: TestMetrics? = nil) async throws -> ClientHarness {
    try await ClientHarness.make(
        .webSocket,
        configure: { configuration in
            configuration.clock = .system
            configuration.retryPolicy = RetryPolicy(
                maxAttempts: 1_000, initialBackoff: .milliseconds(5), maxBackoff: .milliseconds(50), multiplier: 2)
            configuration.metricsFactory = metrics
        },
        options: { $0.limits = MuxLimits(streamQueueDepth: 2) })
}

extension W3CTestTracer {
    /// Finished spans of `caller`'s trace named `name`.
    func finishedSpans(of caller: InMemorySpan, named name: String) -> [FinishedInMemorySpan] {
        finishedSpans(traceID: caller.traceID).filter { $0.operationName == name }
    }

    /// Runs `body` with `caller` as the current span (`ServiceContext.current`).
    func inside<T>(_ caller: InMemorySpan, _ body: () async throws -> T) async rethrows -> T {
        try await ServiceContext.$current.withValue(caller.context) { try await body() }
    }
}

extension FinishedInMemorySpan {
    /// The string attribute `key`, if set.
    func string(_ key: String) -> String? {
        guard case .string(let value)? = attributes[key]?.toSpanAttribute() else { return nil }
        return value
    }
}
