import Foundation
import NIOCore
@testable import StreamKitClient
import StreamKitWire
import Testing

/// Client bugs the chaos test found, each pinned down frame by frame against a server-role `MuxConnection`.
struct ChaosRegressionTests {
    /// A client connection wired to a server-side mux, without a socket.
    private final class Wire: Sendable {
        let client: ClientConnection
        nonisolated(unsafe) let server = MuxConnection(role: .server, now: .now)  // Used by the test's task only.
        private let written = Box<[[UInt8]]>([])
        private let drain: Task<Void, Never>

        init() {
            let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
            client = ClientConnection(serial: 1, url: "ws://test", limits: MuxLimits(), output: continuation)
            let written = written
            drain = Task {
                for await frame in stream { written.update { $0.append(frame) } }
            }
        }

        deinit { drain.cancel() }

        /// Waits until the client wrote a frame that makes the server report `until`, hands the server's own frames
        /// (credit) back to the client, and returns every server action seen.
        func serve(until: (MuxAction) -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async -> [MuxAction] {
            var seen: [MuxAction] = []
            let giveUp = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < giveUp {
                let frames = written.update { frames in
                    defer { frames = [] }
                    return frames
                }
                for frame in frames {
                    for action in server.receive(frame, now: .now) {
                        seen.append(action)
                        if case .send(let reply) = action { await client.receive(ByteBuffer(bytes: reply)) }
                    }
                }
                if seen.contains(where: until) { return seen }
                try? await Task.sleep(for: .milliseconds(1))
            }
            Issue.record("the client did not write what was expected", sourceLocation: sourceLocation)
            return seen
        }

        /// Hands a server frame to the client.
        func deliver(_ frame: [UInt8]?) async throws {
            await client.receive(ByteBuffer(bytes: try #require(frame)))
        }

        /// Opens a produce stream from the client.
        func openProduce() async throws -> (StreamHandle, UInt64) {
            let inbox = StreamInbox(autoConsume: true)
            let id = try await client.open(
                .produceOpen(space: "s", segment: "g"), store: UUID(), receiver: inbox, closeAfterOpen: false)
            _ = await serve { if case .streamOpened = $0 { true } else { false } }
            return (StreamHandle(connection: client, id: id, inbox: inbox, queueDepth: 16), id)
        }
    }

    private static let cutter = TransactionCutter(maxBatchCount: 10_000, maxMessageBytes: 1 << 20)

    private static func status(_ last: UInt64) -> SegmentStatus {
        SegmentStatus(
            space: "s", segment: "g", firstSequence: 1, firstTimestamp: 1, lastSequence: last, lastTimestamp: 1,
            isHeartbeat: false)
    }

    private static func isProduceEnd(_ action: MuxAction) -> Bool {
        if case .message(_, .produceEnd) = action { true } else { false }
    }

    /// Bug: a produce whose stream the server *finished* without acknowledging its records returned its (missing)
    /// statuses as a success. A server being shut down does that (its upload task, cancelled, takes the cancellation
    /// for the end of the upload): the chaos test saw a batch "acknowledged up to nil". It is now the retryable
    /// `storeUnavailable` of an interrupted produce.
    @Test func aProduceTheServerFinishesWithoutAcknowledgingItFailsRetryably() async throws {
        let wire = Wire()
        let (handle, id) = try await wire.openProduce()
        let store = UUID()
        let produce = Task {
            try await WebSocketTransport.produce(records(1...3), on: handle, cutter: Self.cutter, store: store)
        }
        _ = await wire.serve(until: Self.isProduceEnd)
        try await wire.deliver(wire.server.close(id))  // Finished, nothing acknowledged.
        do {
            let statuses = try await produce.value
            Issue.record("expected the produce to fail, got \(statuses.count) statuses")
        } catch let error as StreamKitError {
            #expect(error.code == .storeUnavailable)
            #expect(error.isRetryable)
            #expect(error.storeID == store)
        }
    }

    @Test func aProduceAcknowledgedInPartBeforeTheServerFinishesFailsRetryably() async throws {
        let wire = Wire()
        let (handle, id) = try await wire.openProduce()
        let produce = Task {
            try await WebSocketTransport.produce(
                records(1...3) + records(4...4), on: handle,
                cutter: TransactionCutter(maxBatchCount: 3, maxMessageBytes: 1 << 20), store: UUID())
        }
        _ = await wire.serve(until: Self.isProduceEnd)
        try await wire.deliver(try wire.server.send(.status(Self.status(3)), on: id))  // The first batch only.
        try await wire.deliver(wire.server.close(id))
        await #expect(throws: StreamKitError.self) { _ = try await produce.value }
    }

    @Test func aProduceAcknowledgedWholeStillSucceeds() async throws {
        let wire = Wire()
        let (handle, id) = try await wire.openProduce()
        let produce = Task {
            try await WebSocketTransport.produce(records(1...3), on: handle, cutter: Self.cutter, store: UUID())
        }
        _ = await wire.serve(until: Self.isProduceEnd)
        try await wire.deliver(try wire.server.send(.status(Self.status(3)), on: id))
        try await wire.deliver(wire.server.close(id))
        #expect(try await produce.value.map(\.lastSequence) == [3])
    }

    /// The streaming produce: the server finishing the stream while the records are still being uploaded (nothing
    /// acknowledged, no `produceEnd` sent yet) ends the consumer's iteration with `storeUnavailable`, not quietly.
    @Test func aStreamingProduceTheServerFinishesEarlyFailsRetryably() async throws {
        let wire = Wire()
        let (handle, id) = try await wire.openProduce()
        let (source, feed) = AsyncStream<Record>.makeStream()
        let progress = ProduceProgress()
        let upload = Task { [connection = wire.client, inbox = handle.inbox] in
            await WebSocketTransport.upload(
                source, connection: connection, id: id, inbox: inbox, cutter: Self.cutter, progress: progress)
        }
        for record in records(1...2) { feed.yield(record) }  // Not cut yet: the upload waits for more.
        try await wire.deliver(wire.server.close(id))
        do {
            let status = try await WebSocketTransport.nextStatus(handle, progress: progress, store: UUID())
            Issue.record("expected the produce to fail, got \(String(describing: status))")
        } catch let error as StreamKitError {
            #expect(error.code == .storeUnavailable)
            #expect(error.isRetryable)
        }
        feed.finish()
        await upload.value
    }
}
