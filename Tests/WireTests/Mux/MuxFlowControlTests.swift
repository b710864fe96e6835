import StreamKitEngine
import StreamKitWire
import Testing

/// Credit flow control and the per-stream and per-connection limits.
struct MuxFlowControlTests {
    private static let payload = [String](repeating: "0123456789abcdef", count: 8)  // about 140 bytes a message

    /// Opens a stream from the client and lets the server accept it (consuming the request).
    private static func open(_ pipe: MuxPipe) throws -> UInt64 {
        let (id, frame) = try pipe.client.openStream(.spaces)
        pipe.clientWrites(frame)
        pipe.pump()
        pipe.serverWrites(pipe.server.consumed(id))
        pipe.pump()
        return id
    }

    // MARK: - Credit

    @Test func slowReaderStallsOnlyItsOwnStream() throws {
        let limits = MuxLimits(streamQueueDepth: 8, streamWindowBytes: 4096)
        let pipe = MuxPipe(client: limits, server: limits)
        let slow = try Self.open(pipe)
        let fast = try Self.open(pipe)
        // The server never consumes `slow`: the client runs out of credit after the queue depth.
        var sentOnSlow = 0
        while pipe.client.canSend(on: slow) {
            pipe.clientWrites(try pipe.client.send(.names(Self.payload), on: slow))
            sentOnSlow += 1
            pipe.pump()
        }
        #expect(sentOnSlow == 8)
        #expect(throws: StreamKitError.self) { try pipe.client.send(.names(Self.payload), on: slow) }
        // The other stream keeps flowing as its reader consumes.
        for _ in 0..<100 {
            #expect(pipe.client.canSend(on: fast))
            pipe.clientWrites(try pipe.client.send(.names(Self.payload), on: fast))
            pipe.pump()
            pipe.serverWrites(pipe.server.consumed(fast))
            pipe.pump()
        }
        #expect(MuxPipe.messages(pipe.serverEvents, on: fast).count == 101)
        // Memory stays bounded by the stalled stream's window.
        #expect(pipe.server.bufferedBytes <= 8 * 200)
        // Consuming the slow stream grants credit back and wakes the writer.
        pipe.serverWrites(pipe.server.consumed(slow, count: 8))
        pipe.pump()
        #expect(pipe.clientEvents.contains(.writable(streamID: slow)))
        #expect(pipe.client.canSend(on: slow))
    }

    @Test func byteWindowLimitsLargeMessages() throws {
        let limits = MuxLimits(streamQueueDepth: 100, streamWindowBytes: 1000)
        let pipe = MuxPipe(client: limits, server: limits)
        let id = try Self.open(pipe)
        var sent = 0
        while pipe.client.canSend(on: id) {
            pipe.clientWrites(try pipe.client.send(.names(Self.payload), on: id))
            sent += 1
        }
        pipe.pump()
        // 1000 bytes of window, one frame of overshoot allowed.
        #expect(sent >= 6 && sent <= 8)
        #expect(pipe.server.bufferedBytes < 1000 + 200)
        #expect(pipe.server.activeStreamCount == 1)
    }

    // MARK: - Stream limits

    @Test func sendingPastCreditEndsOnlyTheOffendingStream() throws {
        let limits = MuxLimits(streamQueueDepth: 4)
        let server = MuxConnection(role: .server, limits: limits, now: .now)
        let now = ContinuousClock.now
        for id: UInt64 in [1, 3] {
            _ = server.receive(
                try MuxFrame.open(streamID: id, store: nil, request: .spaces, traceparent: nil, credit: .zero)
                    .encoded(), now: now)
        }
        var actions: [MuxAction] = []
        for _ in 0..<5 {  // a broken client ignores its 4 messages of credit
            actions += server.receive(try MuxFrame.data(streamID: 1, message: .ack(true)).encoded(), now: now)
        }
        let error = MuxPipe.resetError(actions, on: 1)
        #expect(error?.code == .limitExceeded)
        #expect(error?.limit == 4)
        #expect(
            actions.contains {
                if case .send(let bytes) = $0 {
                    (try? MuxFrame(decoding: bytes))
                        == .error(streamID: 1, error: error ?? StreamKitError(code: .internalError, message: ""))
                } else {
                    false
                }
            })
        #expect(server.state(of: 1) == .closed)
        #expect(server.state(of: 3) == .open)
        #expect(!server.isClosed)
        let more = server.receive(try MuxFrame.data(streamID: 3, message: .ack(false)).encoded(), now: now)
        #expect(more == [.message(streamID: 3, message: .ack(false))])
    }

    @Test func bufferedBytesLimitEndsOnlyTheStreamThatCrossesIt() throws {
        let serverLimits = MuxLimits(streamQueueDepth: 64, streamWindowBytes: 1 << 20, maxBufferedBytes: 3000)
        let pipe = MuxPipe(server: serverLimits)
        let first = try Self.open(pipe)
        let second = try Self.open(pipe)
        // Nobody consumes: the first stream fills most of the connection's buffer.
        for _ in 0..<12 { pipe.clientWrites(try pipe.client.send(.names(Self.payload), on: first)) }
        pipe.pump()
        #expect(MuxPipe.resetError(pipe.serverEvents, on: first) == nil)
        var crossed: UInt64?
        for _ in 0..<12 where crossed == nil {
            pipe.clientWrites(try pipe.client.send(.names(Self.payload), on: second))
            pipe.pump()
            if MuxPipe.resetError(pipe.serverEvents, on: second) != nil { crossed = second }
        }
        #expect(crossed == second)
        let error = MuxPipe.resetError(pipe.clientEvents, on: second)
        #expect(error?.code == .overloaded)
        #expect(error?.isRetryable == true)
        #expect(pipe.server.bufferedBytes <= 3000)
        #expect(pipe.server.state(of: first) == .open)
        #expect(!pipe.server.isClosed)
    }

    @Test func tooManyStreamsAreRefusedWithATypedError() throws {
        let pipe = MuxPipe(client: MuxLimits(maxConcurrentStreams: 10), server: MuxLimits(maxConcurrentStreams: 2))
        var ids: [UInt64] = []
        for _ in 0..<3 {
            let (id, frame) = try pipe.client.openStream(.spaces)
            ids.append(id)
            pipe.clientWrites(frame)
        }
        pipe.pump()
        let error = MuxPipe.resetError(pipe.clientEvents, on: ids[2])
        #expect(error?.code == .overloaded)
        #expect(error?.limit == 2)
        #expect(error?.value == 3)
        #expect(pipe.server.activeStreamCount == 2)
        #expect(pipe.client.activeStreamCount == 2)
        // The opener's own limit refuses locally.
        let local = MuxConnection(role: .client, limits: MuxLimits(maxConcurrentStreams: 1), now: .now)
        _ = try local.openStream(.spaces)
        #expect {
            _ = try local.openStream(.spaces)
        } throws: { ($0 as? StreamKitError)?.code == .overloaded }
    }

    @Test func creditOverflowIsAProtocolViolation() throws {
        let pipe = MuxPipe()
        let id = try Self.open(pipe)
        let grant = try MuxFrame.credit(streamID: id, credit: MuxCredit(messages: 0, bytes: MuxCredit.maxWindow))
            .encoded()
        let actions = pipe.client.receive(grant, now: pipe.now)
        #expect(MuxPipe.closeError(actions)?.code == .invalidArgument)
        #expect(MuxPipe.resetError(actions, on: id) != nil)
        #expect(pipe.client.isClosed)
    }
}
