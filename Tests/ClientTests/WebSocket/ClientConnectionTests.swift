import Foundation
import NIOCore
import StreamKitWire
import Testing

@testable import StreamKitClient

/// The client connection against a server-role `MuxConnection`, frame by frame, without a socket: how each way a
/// stream can end reaches its consumer.
struct ClientConnectionTests {
    @Test func aServerErrorReachesTheConsumerUnchanged() async throws {
        let pair = MuxPair()
        let inbox = StreamInbox(autoConsume: true)
        let id = try await pair.client.open(
            .peek(space: "s", segment: "g"), store: UUID(), receiver: inbox, closeAfterOpen: true)
        _ = await pair.flush(2)  // open, close
        let conflict = StreamKitError.sequenceConflict(expected: 4, got: 9, space: "s", segment: "g")
        try await pair.deliver(pair.server.reset(id, error: conflict))
        guard case .failed(let error as StreamKitError) = try await inbox.next() else {
            Issue.record("expected the server's error")
            return
        }
        #expect(error == conflict)
        #expect(error.expectedSequence == 4 && error.gotSequence == 9)
        #expect(pair.client.isUsable)
    }

    @Test func aGoAwayRefusesStreamsTheServerNeverAccepted() async throws {
        let pair = MuxPair()
        let accepted = StreamInbox(autoConsume: true)
        let unseen = StreamInbox(autoConsume: true)
        let first = try await pair.client.open(
            .spaces, store: UUID(), receiver: accepted, closeAfterOpen: true)
        _ = await pair.flush(2)
        _ = try await pair.client.open(.spaces, store: UUID(), receiver: unseen, closeAfterOpen: true)
        // The server goes away before reading the second open, then fails the first as it shuts down.
        try await pair.deliver(pair.server.goAway(error: StreamKitError(code: .storeUnavailable, message: "bye")))
        #expect(!pair.client.isUsable)
        guard case .refused(let refusal) = try await unseen.next() else {
            Issue.record("expected the unseen stream to be refused")
            return
        }
        #expect(refusal.code == .storeUnavailable)
        try await pair.deliver(
            pair.server.reset(first, error: StreamKitError(code: .storeUnavailable, message: "shutting down")))
        guard case .lost(let loss) = try await accepted.next() else {
            Issue.record("expected the accepted stream to be lost (it may have been applied)")
            return
        }
        #expect(loss.isRetryable)
        await #expect(throws: ConnectionUnusable.self) {
            _ = try await pair.client.open(
                .spaces, store: UUID(), receiver: StreamInbox(autoConsume: true), closeAfterOpen: true)
        }
    }

    @Test func aReadGrantsCreditOnlyAsItsConsumerTakesEntries() async throws {
        let pair = MuxPair()
        let inbox = StreamInbox(autoConsume: false)
        let request = WireMessage.consumeSegment(space: "s", segment: "g", bounds: ReadBounds(), limit: 0)
        let id = try await pair.client.open(request, store: UUID(), receiver: inbox, closeAfterOpen: true)
        let opened = await pair.flush(2)
        #expect(opened.contains { if case .streamOpened = $0 { true } else { false } })
        _ = pair.server.consumed(id)
        let depth = MuxLimits().streamQueueDepth
        for _ in 0..<depth { try await pair.deliver(try pair.server.send(.entries([]), on: id)) }
        #expect(!pair.server.canSend(on: id))  // The window is full until the consumer takes entries.
        let handle = StreamHandle(connection: pair.client, id: id, inbox: inbox, queueDepth: depth)
        for _ in 0..<(depth / 2 - 1) { _ = try await handle.next() }
        #expect(await pair.flush(0).isEmpty)  // Acknowledged in part, but less than half a window is free.
        _ = try await handle.next()  // Half the window taken: the client grants more.
        let credit = await pair.flush(1)
        #expect(credit.contains { if case .writable = $0 { true } else { false } })
        #expect(pair.server.canSend(on: id))
        handle.markEnded()
    }

    @Test func aLostConnectionFailsEveryStreamAsLost() async throws {
        let pair = MuxPair()
        let inbox = StreamInbox(autoConsume: false)
        _ = try await pair.client.open(
            .consumeSegment(space: "s", segment: "g", bounds: ReadBounds(), limit: 0), store: UUID(), receiver: inbox,
            closeAfterOpen: true)
        _ = await pair.flush(2)
        await pair.client.shutdown(StreamKitError(code: .storeUnavailable, message: "socket closed"))
        guard case .lost(let error) = try await inbox.next() else {
            Issue.record("expected a lost stream")
            return
        }
        #expect(error.code == .storeUnavailable)
        await eventually("writer ended") { pair.outputEnded }
        #expect(await pair.client.openStreamCount == 0)
    }
}
