public import InMemoryTracing
import Synchronization
public import Tracing

/// A test tracer that records spans in memory (``InMemoryTracer``) and propagates context as a W3C
/// `traceparent` (`00-<32 hex trace id>-<16 hex span id>-01`), the way a production propagator does.
///
/// `InstrumentationSystem` can be bootstrapped once per process: use ``installed``, which bootstraps on first
/// use. Tests running in parallel share it; tell your spans apart by trace id.
public struct W3CTestTracer: Tracer {
    public typealias Span = InMemorySpan

    /// The process-wide tracer, bootstrapped into `InstrumentationSystem` on first use.
    public static let installed: W3CTestTracer = {
        let tracer = W3CTestTracer()
        InstrumentationSystem.bootstrap(tracer)
        return tracer
    }()

    /// The spans recorded so far.
    public let inner: InMemoryTracer

    private init() {
        let counter = Atomic<UInt64>(0)
        let next: @Sendable () -> UInt64 = { counter.wrappingAdd(1, ordering: .relaxed).newValue }
        inner = InMemoryTracer(
            idGenerator: .init(
                nextTraceID: { W3CTestTracer.hex(next(), digits: 32) },
                nextSpanID: { W3CTestTracer.hex(next(), digits: 16) }),
            recordInjections: false, recordExtractions: false)
    }

    /// Finished spans of one trace.
    public func finishedSpans(traceID: String) -> [FinishedInMemorySpan] {
        inner.finishedSpans.filter { $0.traceID == traceID }
    }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> InMemorySpan {
        inner.startSpan(
            operationName, context: context(), ofKind: kind, at: instant(), function: function, file: fileID,
            line: line)
    }

    public func activeSpan(identifiedBy context: ServiceContext) -> InMemorySpan? {
        inner.activeSpan(identifiedBy: context)
    }

    public func forceFlush() {}

    public func inject<Carrier, Inject: Injector>(
        _ context: ServiceContext, into carrier: inout Carrier, using injector: Inject
    ) where Carrier == Inject.Carrier {
        guard let span = context.inMemorySpanContext else { return }
        injector.inject("00-\(span.traceID)-\(span.spanID)-01", forKey: "traceparent", into: &carrier)
    }

    public func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract
    ) where Carrier == Extract.Carrier {
        guard let text = extractor.extract(key: "traceparent", from: carrier) else { return }
        let parts = text.split(separator: "-")
        guard parts.count == 4, parts[0] == "00", parts[1].count == 32, parts[2].count == 16 else { return }
        context.inMemorySpanContext = InMemorySpanContext(
            traceID: String(parts[1]), spanID: String(parts[2]), parentSpanID: nil)
    }

    private static func hex(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
