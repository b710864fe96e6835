import FoundationEssentials
import StreamKitEngine
import StreamKitWire
import Testing

/// Streams over two connections wired back to back: open, data, close, and many streams at once.
struct MuxStreamTests {
    // MARK: - Round trips

    @Test func openDataCloseRoundTripRetiresTheStream() throws {
        let pipe = MuxPipe()
        let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let store = UUID()
        let (id, open) = try pipe.client.openStream(
            .getStatus(space: "s", segment: "g"), store: store, traceparent: trace)
        #expect(id == 1)
        pipe.clientWrites(open)
        pipe.pump()
        #expect(
            pipe.serverEvents == [
                .streamOpened(
                    streamID: 1, store: store, request: .getStatus(space: "s", segment: "g"),
                    traceparent: trace)
            ])
        #expect(pipe.server.state(of: 1) == .open)
        pipe.serverWrites(pipe.server.consumed(1))

        pipe.serverWrites(try pipe.server.send(.empty, on: 1))
        pipe.serverWrites(pipe.server.close(1))
        pipe.clientWrites(pipe.client.close(1))
        #expect(pipe.client.state(of: 1) == .halfClosedLocal)
        pipe.pump()
        #expect(
            pipe.clientEvents == [
                .writable(streamID: 1),  // the server's initial credit
                .message(streamID: 1, message: .empty), .streamFinished(streamID: 1),
            ])
        #expect(pipe.server.state(of: 1) == .closed)
        #expect(pipe.server.activeStreamCount == 0)
        // The client holds the reply until it is consumed.
        #expect(pipe.client.state(of: 1) == .closed)
        #expect(pipe.client.bufferedBytes > 0)
        _ = pipe.client.consumed(1)
        #expect(pipe.client.activeStreamCount == 0)
        #expect(pipe.client.bufferedBytes == 0)
        #expect(pipe.client.state(of: 3) == .idle)
    }

    @Test func serverOpensEvenStreamIds() throws {
        let pipe = MuxPipe()
        let (id, open) = try pipe.server.openStream(.subscribe(space: "s", segment: "*", heartbeatSeconds: 5))
        #expect(id == 2)
        pipe.serverWrites(open)
        pipe.pump()
        #expect(
            MuxPipe.messages(pipe.clientEvents, on: 2) == [
                .subscribe(
                    space: "s", segment: "*",
                    heartbeatSeconds: 5)
            ])
        pipe.clientWrites(try pipe.client.send(.ack(true), on: 2))
        pipe.pump()
        #expect(MuxPipe.messages(pipe.serverEvents, on: 2) == [.ack(true)])
    }

    @Test func manyConcurrentStreamsInterleaveWithoutMixingMessages() throws {
        let pipe = MuxPipe()
        let count = 10_000
        var ids: [UInt64] = []
        for index in 0..<count {
            let (id, open) = try pipe.client.openStream(.segments(space: "space-\(index)"))
            ids.append(id)
            pipe.clientWrites(open)
        }
        pipe.pump()
        #expect(pipe.server.activeStreamCount == count)
        // Interleave: round r sends message r on every stream.
        for round in 0..<3 {
            for id in ids {
                pipe.clientWrites(try pipe.client.send(.names(["\(id)", "\(round)"]), on: id))
                pipe.serverWrites(try pipe.server.send(.names(["reply-\(id)", "\(round)"]), on: id))
            }
        }
        for id in ids {
            pipe.clientWrites(pipe.client.close(id))
            pipe.serverWrites(pipe.server.close(id))
        }
        pipe.pump()
        let received = MuxPipe.messagesByStream(pipe.serverEvents)
        let replies = MuxPipe.messagesByStream(pipe.clientEvents)
        var mixedUp = 0
        for (index, id) in ids.enumerated() {
            let expected: [WireMessage] =
                [.segments(space: "space-\(index)")] + (0..<3).map { .names(["\(id)", "\($0)"]) }
            let expectedReplies: [WireMessage] = (0..<3).map { .names(["reply-\(id)", "\($0)"]) }
            if received[id] != expected || replies[id] != expectedReplies { mixedUp += 1 }
            _ = pipe.server.consumed(id, count: 4)
            _ = pipe.client.consumed(id, count: 3)
        }
        #expect(mixedUp == 0)
        #expect(pipe.server.activeStreamCount == 0)
        #expect(pipe.client.activeStreamCount == 0)
        #expect(pipe.server.bufferedBytes == 0)
        #expect(!pipe.server.isClosed && !pipe.client.isClosed)
    }

    @Test func peerErrorResetsOnlyThatStream() throws {
        let pipe = MuxPipe()
        let (first, openFirst) = try pipe.client.openStream(.spaces)
        let (second, openSecond) = try pipe.client.openStream(.spaces)
        pipe.clientWrites(openFirst)
        pipe.clientWrites(openSecond)
        pipe.pump()
        let denied = StreamKitError(code: .forbidden, message: "store outside the token's claims")
        pipe.serverWrites(pipe.server.reset(first, error: denied))
        pipe.serverWrites(try pipe.server.send(.names(["ok"]), on: second))
        pipe.pump()
        #expect(MuxPipe.resetError(pipe.clientEvents, on: first) == denied)
        #expect(MuxPipe.messages(pipe.clientEvents, on: second) == [.names(["ok"])])
        #expect(pipe.client.state(of: first) == .closed)
        #expect(throws: StreamKitError.self) { try pipe.client.send(.spaces, on: first) }
    }
}
