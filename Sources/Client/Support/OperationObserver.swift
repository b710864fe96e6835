import StreamKitEngine
import StreamKitLogFiles
import Synchronization
import Tracing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Wraps each client operation in a swift-distributed-tracing span `streamkit.client.<operation>` and records its
/// duration and errors in the client's metrics.
///
/// The span starts from the caller's `ServiceContext.current` (kind `client`, attributes `streamkit.store_id`,
/// `streamkit.space`, `streamkit.segment` where they apply) and the operation runs with the span's context as
/// `ServiceContext.current`, so the WebSocket transport sends it as the open frame's `traceparent`. For a stream
/// the span and the timer cover its opening and iteration until it ends, fails or is dropped; entries and records
/// are tallied in the stream and added to the counters in bulk, never per element.
struct OperationObserver: Sendable {
    let metrics: ClientMetrics

    /// Where an operation applies, for the span's attributes.
    struct Target: Sendable {
        var store: UUID
        var space: String?
        var segment: String?
    }

    /// Runs a one-shot operation in its span.
    ///
    /// - Parameters:
    ///   - operation: The operation's name (`publish` …), also the `operation` dimension.
    ///   - target: The store, space and segment, for the span.
    ///   - traced: False records only metrics, without a span (background heartbeats).
    ///   - body: The operation, run with the span's context.
    nonisolated(nonsending) func run<T>(
        _ operation: String, _ target: Target, traced: Bool = true, _ body: nonisolated(nonsending) () async throws -> T
    ) async throws -> T {
        let start = ContinuousClock.now
        guard traced else {
            do {
                let result = try await body()
                metrics.recordDuration(operation, nanoseconds: Self.nanoseconds(since: start))
                return result
            } catch {
                metrics.recordDuration(operation, nanoseconds: Self.nanoseconds(since: start))
                metrics.recordError(operation, error)
                throw error
            }
        }
        let span = Self.startSpan(operation, target, parent: ServiceContext.current)
        do {
            let result = try await ServiceContext.$current.withValue(span.context) { try await body() }
            metrics.recordDuration(operation, nanoseconds: Self.nanoseconds(since: start))
            span.end()
            return result
        } catch {
            metrics.recordDuration(operation, nanoseconds: Self.nanoseconds(since: start))
            Self.fail(span, operation: operation, error: error, metrics: metrics)
            span.end()
            throw error
        }
    }

    /// What a stream tallies per element.
    enum Tally: Sendable {
        /// Entries of a read: `streamkit_client_entries_consumed_total`.
        case entries
        /// Records of a produce, from its statuses: `streamkit_client_records_produced_total`. The probe holds the
        /// first record's sequence (set as the produce takes it from the application's sequence).
        case records(FirstSequenceProbe)
        /// Nothing.
        case none
    }

    /// `inner`, observed: the span starts when the stream opens (on its first `next()`) from the context of the
    /// caller of this method, and ends with the stream.
    func stream<Element>(
        _ operation: String, _ target: Target, tally: Tally, _ inner: ClientStream<Element>
    ) -> ClientStream<Element> {
        let parent = ServiceContext.current
        let metrics = self.metrics
        return ClientStream {
            let observation = StreamObservation(
                operation: operation, span: Self.startSpan(operation, target, parent: parent), tally: tally,
                metrics: metrics)
            let cursor: Cursor<Element>
            do {
                cursor = try await ServiceContext.$current.withValue(observation.span.context) {
                    try await inner.open()
                }
            } catch {
                observation.end(error)
                throw error
            }
            return Cursor(batches: {
                let batch: [Element]?
                do {
                    batch = try await cursor.nextBatch()
                } catch {
                    observation.end(error)
                    throw error
                }
                guard let batch else {
                    observation.end(nil)
                    return nil
                }
                observation.count(batch)
                return batch
            })
        }
    }

    // MARK: - Spans

    static func startSpan(_ operation: String, _ target: Target, parent: ServiceContext?) -> any Span {
        let span = InstrumentationSystem.tracer.startSpan(
            "streamkit.client.\(operation)", context: parent ?? .topLevel, ofKind: .client)
        guard span.isRecording else { return span }
        span.attributes["streamkit.store_id"] = target.store.uuidString
        if let space = target.space { span.attributes["streamkit.space"] = space }
        if let segment = target.segment { span.attributes["streamkit.segment"] = segment }
        return span
    }

    /// Records a failure on the span and in the error counter; cancellation is neither.
    static func fail(_ span: any Span, operation: String, error: any Error, metrics: ClientMetrics) {
        metrics.recordError(operation, error)
        guard !(error is CancellationError) else { return }
        span.recordError(error)
        span.setStatus(SpanStatus(code: .error))
    }

    static func nanoseconds(since start: ContinuousClock.Instant) -> Int64 { (ContinuousClock.now - start).nanoseconds }
}

/// The first record's sequence of a produce, once the produce has taken it from the application's sequence.
final class FirstSequenceProbe: Sendable {
    private let value = Atomic<UInt64>(0)

    /// The sequence, or 0 before the first record.
    var first: UInt64 { value.load(ordering: .acquiring) }

    func record(_ sequence: UInt64) { value.store(sequence, ordering: .releasing) }

    /// `records`, recording the first record's sequence here as it is taken.
    func probing<Records: AsyncSequence & Sendable>(_ records: Records) -> ProbedRecords<Records>
    where Records.Element == Record {
        ProbedRecords(base: records, probe: self)
    }
}

/// An application's record sequence that tells a ``FirstSequenceProbe`` its first record's sequence.
struct ProbedRecords<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == Record {
    let base: Base
    let probe: FirstSequenceProbe

    func makeAsyncIterator() -> Iterator { Iterator(base: base.makeAsyncIterator(), probe: probe) }

    struct Iterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let probe: FirstSequenceProbe
        var probed = false

        mutating func next() async throws -> Record? {
            let record = try await base.next()
            if !probed, let record {
                probed = true
                probe.record(record.sequence)
            }
            return record
        }
    }
}

/// One observed stream's span, start time and tally. Not `Sendable`: the iterating task owns it. Ends at the
/// stream's end or failure, or when the stream is dropped (deinit).
final class StreamObservation {
    /// Counts are added to their counter after this many, and at the end.
    private static let flushEvery = 1_024

    let operation: String
    let span: any Span
    private let tally: OperationObserver.Tally
    private let metrics: ClientMetrics
    private let start = ContinuousClock.now
    private var pending = 0
    private var lastSequence: UInt64?
    private var ended = false

    init(operation: String, span: any Span, tally: OperationObserver.Tally, metrics: ClientMetrics) {
        self.operation = operation
        self.span = span
        self.tally = tally
        self.metrics = metrics
    }

    deinit { end(nil) }

    /// Tallies a batch of elements.
    func count<Element>(_ elements: [Element]) {
        switch tally {
        case .entries:
            pending += elements.count
        case .records(let probe):
            for element in elements {
                guard let status = element as? SegmentStatus else { return }
                let previous = lastSequence ?? probe.first &- 1
                if status.lastSequence > previous { pending += Int(clamping: status.lastSequence - previous) }
                lastSequence = status.lastSequence
            }
        case .none:
            return
        }
        if pending >= Self.flushEvery { flush() }
    }

    /// Ends the span (with `error`, if any) and records the duration and the tally; later calls do nothing.
    func end(_ error: (any Error)?) {
        guard !ended else { return }
        ended = true
        flush()
        metrics.recordDuration(operation, nanoseconds: OperationObserver.nanoseconds(since: start))
        if let error { OperationObserver.fail(span, operation: operation, error: error, metrics: metrics) }
        span.end()
    }

    private func flush() {
        guard pending > 0 else { return }
        switch tally {
        case .entries: metrics.count(.entriesConsumed, by: pending)
        case .records: metrics.count(.recordsProduced, by: pending)
        case .none: break
        }
        pending = 0
    }
}
