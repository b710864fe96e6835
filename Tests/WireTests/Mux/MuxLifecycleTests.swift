import StreamKitEngine
import StreamKitWire
import Testing

/// Tombstones, heartbeats, silence and go-away.
struct MuxLifecycleTests {
    private static func open(_ pipe: MuxPipe) throws -> UInt64 {
        let (id, frame) = try pipe.client.openStream(.spaces)
        pipe.clientWrites(frame)
        pipe.pump()
        return id
    }

    // MARK: - Tombstones

    @Test func lateFramesAfterResetAreIgnored() throws {
        let pipe = MuxPipe()
        let id = try Self.open(pipe)
        // The server resets while the client's data is in flight.
        let error = StreamKitError(code: .forbidden, message: "no")
        let reset = pipe.server.reset(id, error: error)
        let late = try pipe.client.send(.ack(true), on: id)
        let lateClose = pipe.client.close(id)
        #expect(pipe.server.receive(late, now: pipe.now).isEmpty)
        #expect(pipe.server.receive(lateClose ?? [], now: pipe.now).isEmpty)
        #expect(pipe.server.tombstoneCount == 1)
        #expect(!pipe.server.isClosed)
        pipe.serverWrites(reset)
        pipe.pump()
        #expect(MuxPipe.resetError(pipe.clientEvents, on: id) == error)
        // A late credit for the finished stream is ignored too.
        let credit = try MuxFrame.credit(streamID: id, credit: MuxCredit(messages: 1, bytes: 1)).encoded()
        #expect(pipe.client.receive(credit, now: pipe.now).isEmpty)
        #expect(!pipe.client.isClosed)
    }

    @Test func tombstonesAreBoundedInCountAndAge() throws {
        let limits = MuxLimits(maxTombstones: 4, tombstoneLifetime: .seconds(60))
        let pipe = MuxPipe(server: limits)
        var ids: [UInt64] = []
        for _ in 0..<10 {
            let id = try Self.open(pipe)
            ids.append(id)
            _ = pipe.server.reset(id, error: StreamKitError(code: .internalError, message: "x"))
            #expect(pipe.server.tombstoneCount <= 4)
        }
        #expect(pipe.server.tombstoneCount == 4)
        // Remembered: late data ignored.
        let recent = try MuxFrame.data(streamID: ids[9], message: .ack(true)).encoded()
        #expect(pipe.server.receive(recent, now: pipe.now).isEmpty)
        // Forgotten by age.
        _ = pipe.server.tick(now: pipe.now + .seconds(61))
        #expect(pipe.server.tombstoneCount == 0)
        // Data for a forgotten stream is data for an unknown stream: a protocol violation.
        let stale = try MuxFrame.data(streamID: ids[0], message: .ack(true)).encoded()
        let actions = pipe.server.receive(stale, now: pipe.now + .seconds(61))
        #expect(MuxPipe.closeError(actions)?.code == .invalidArgument)
        #expect(
            actions.first.map {
                if case .send(let bytes) = $0 { (try? MuxFrame(decoding: bytes))?.streamID == 0 } else { false }
            } == true)
    }

    // MARK: - Heartbeat

    @Test func silenceSendsAPingAndThePongKeepsTheConnectionAlive() throws {
        let pipe = MuxPipe()
        #expect(pipe.client.tick(now: pipe.now + .seconds(29)).isEmpty)
        pipe.now = pipe.now + .seconds(30)
        let ping = pipe.client.tick(now: pipe.now)
        #expect(ping.count == 1)
        // Only one ping per interval.
        #expect(pipe.client.tick(now: pipe.now + .seconds(1)).isEmpty)
        pipe.route(ping, fromServer: false)
        pipe.pump()  // the server answers with a pong; the client hears from it
        pipe.now = pipe.now + .seconds(89)
        #expect(MuxPipe.closeError(pipe.client.tick(now: pipe.now)) == nil)
        #expect(!pipe.client.isClosed)
    }

    @Test func silentConnectionIsClosedAfterTheTimeout() throws {
        let pipe = MuxPipe()
        let id = try Self.open(pipe)
        _ = pipe.client.tick(now: pipe.now + .seconds(30))  // ping, never answered
        #expect(!pipe.client.isClosed)
        let actions = pipe.client.tick(now: pipe.now + .seconds(90))
        let error = MuxPipe.closeError(actions)
        #expect(error?.code == .storeUnavailable)
        #expect(error?.isRetryable == true)
        #expect(MuxPipe.resetError(actions, on: id) == error)
        #expect(pipe.client.isClosed)
        #expect(pipe.client.receive(try MuxFrame.ping(1).encoded(), now: pipe.now).isEmpty)
        #expect(throws: StreamKitError.self) { try pipe.client.openStream(.spaces) }
    }

    // MARK: - Go-away

    @Test func goAwayRefusesNewStreamsAndLetsActiveOnesFinish() throws {
        let pipe = MuxPipe()
        let active = try Self.open(pipe)
        let (late, lateOpen) = try pipe.client.openStream(.spaces)  // in flight when the server goes away
        pipe.serverWrites(pipe.server.goAway())
        pipe.clientWrites(lateOpen)
        pipe.pump()
        #expect(pipe.clientEvents.contains(.goAwayReceived(lastStreamID: active, error: nil)))
        #expect(MuxPipe.resetError(pipe.clientEvents, on: late)?.code == .storeUnavailable)
        #expect(pipe.server.state(of: late) == .closed)
        #expect {
            _ = try pipe.client.openStream(.spaces)
        } throws: { ($0 as? StreamKitError)?.code == .storeUnavailable }
        // The active stream still works to the end.
        pipe.serverWrites(try pipe.server.send(.names(["s"]), on: active))
        pipe.serverWrites(pipe.server.close(active))
        pipe.clientWrites(pipe.client.close(active))
        pipe.pump()
        #expect(MuxPipe.messages(pipe.clientEvents, on: active) == [.names(["s"])])
        _ = pipe.server.consumed(active)
        _ = pipe.client.consumed(active)
        #expect(pipe.server.isDrained)
        #expect(pipe.client.isDrained)
    }
}
