import Foundation
import NIOCore
import StreamKitWire
import Testing

@testable import StreamKitClient

/// Client bugs the chaos test found, each pinned down frame by frame against a server-role `MuxConnection`
/// (``MuxPair``: waiting for the client's frames is a signal, never a wall-clock poll).
struct ChaosRegressionTests {
    /// Opens a produce stream from the client and lets the server accept it.
    private static func openProduce(_ wire: MuxPair) async throws -> (StreamHandle, UInt64) {
        let inbox = StreamInbox(autoConsume: true)
        let id = try await wire.client.open(
            .produceOpen(space: "s", segment: "g"), store: UUID(), receiver: inbox, closeAfterOpen: false)
        _ = await wire.serve { if case .streamOpened = $0 { true } else { false } }
        return (StreamHandle(connection: wire.client, id: id, inbox: inbox, queueDepth: 16), id)
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
        let wire = MuxPair()
        let (handle, id) = try await Self.openProduce(wire)
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
        let wire = MuxPair()
        let (handle, id) = try await Self.openProduce(wire)
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
        let wire = MuxPair()
        let (handle, id) = try await Self.openProduce(wire)
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
        let wire = MuxPair()
        let (handle, id) = try await Self.openProduce(wire)
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
