import FoundationEssentials
import StreamKitEngine
import StreamKitTestSupport
import StreamKitWire
import Testing

/// Garbage and mutated frames: typed errors and a closed connection, never a trap or unbounded memory.
struct MuxGarbageTests {
    private static let mutationCount = 20_000
    private static let seed: UInt64 = 0x00C0_FFEE_5EED

    private static func validFrames() throws -> [[UInt8]] {
        let frames: [MuxFrame] = [
            .open(
                streamID: 1, store: UUID(uuid: (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)),
                request: .peek(space: "a", segment: "b"), traceparent: "00-trace",
                credit:
                    MuxCredit(messages: 8, bytes: 4096)),
            .open(
                streamID: 3, store: nil, request: .spaces, traceparent: nil, credit: MuxCredit(messages: 1, bytes: 1)),
            .data(streamID: 1, message: .names(["x", "y", "z"])),
            .data(streamID: 1, message: .publish(space: "s", segment: "g", payload: [1, 2, 3], metadata: ["k": "v"])),
            .close(streamID: 1),
            .error(streamID: 1, error: StreamKitError(code: .notFound, message: "gone", limit: 3)),
            .credit(streamID: 1, credit: MuxCredit(messages: 2, bytes: 300)),
            .ping(42), .pong(42),
            .goAway(lastStreamID: 2, error: StreamKitError(code: .overloaded, message: "busy")),
        ]
        return try frames.map { try $0.encoded() }
    }

    private static func mutate(_ frame: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = frame
        let edits = Int.random(in: 1...4, using: &random)
        for _ in 0..<edits {
            switch Int.random(in: 0..<5, using: &random) {
            case 0 where !bytes.isEmpty:
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            case 1 where !bytes.isEmpty:
                bytes.removeLast(Int.random(in: 1...bytes.count, using: &random))
            case 2:
                bytes.insert(
                    UInt8.random(in: 0...255, using: &random),
                    at: Int.random(in: 0...bytes.count, using: &random))
            case 3 where !bytes.isEmpty:
                let index = Int.random(in: 0..<bytes.count, using: &random)
                bytes[index] ^= 1 << UInt8.random(in: 0..<8, using: &random)
            default:
                bytes = (0..<Int.random(in: 0..<24, using: &random)).map { _ in
                    UInt8.random(in: 0...255, using: &random)
                }
            }
        }
        return bytes
    }

    @Test func mutatedFramesNeverTrapAndKeepMemoryBounded() throws {
        let valid = try Self.validFrames()
        let limits = MuxLimits(maxConcurrentStreams: 8, streamQueueDepth: 4, maxBufferedBytes: 4096, maxTombstones: 16)
        var random = SplitMix64(seed: Self.seed)
        var connection = MuxConnection(role: .server, limits: limits, now: .now)
        let now = ContinuousClock.now
        var closes = 0
        var decoded = 0
        for _ in 0..<Self.mutationCount {
            let frame = Self.mutate(valid[Int.random(in: 0..<valid.count, using: &random)], &random)
            // The frame codec: a frame or a typed error; what decodes re-encodes to itself.
            if let parsed = try? MuxFrame(decoding: frame, limits: limits) {
                decoded += 1
                #expect(try MuxFrame(decoding: parsed.encoded(limits: limits), limits: limits) == parsed)
            }
            // The connection: actions, never a trap; a close ends it.
            let actions = connection.receive(frame, now: now)
            #expect(connection.bufferedBytes <= 4096)
            #expect(connection.activeStreamCount <= 8)
            #expect(connection.tombstoneCount <= 16)
            if MuxPipe.closeError(actions) != nil {
                #expect(connection.isClosed)
                closes += 1
                connection = MuxConnection(role: .server, limits: limits, now: now)
            }
        }
        #expect(closes > Self.mutationCount / 4)
        #expect(decoded > 0)
    }

    @Test func garbageClosesTheConnectionWithGoAway() {
        let server = MuxConnection(role: .server, now: .now)
        let actions = server.receive([0xFF, 0x00, 0x13], now: .now)
        guard case .send(let bytes) = actions.first, case .goAway(0, let error?) = try? MuxFrame(decoding: bytes)
        else {
            Issue.record("expected a go-away frame first, got \(actions)")
            return
        }
        #expect(error.code == .invalidArgument)
        #expect(MuxPipe.closeError(actions) == error)
        #expect(server.isClosed)
        #expect(server.receive([0x06, 0x00, 0, 0, 0, 0, 0, 0, 0, 0], now: .now).isEmpty)
    }

    @Test func framesOnTheWrongParityOrForUnknownStreamsAreViolations() throws {
        let cases: [MuxFrame] = [
            .open(streamID: 2, store: nil, request: .spaces, traceparent: nil, credit: .zero),  // server parity
            .data(streamID: 5, message: .ack(true)),  // never opened
            .close(streamID: 7),
        ]
        for frame in cases {
            let server = MuxConnection(role: .server, now: .now)
            let actions = server.receive(try frame.encoded(), now: .now)
            #expect(MuxPipe.closeError(actions)?.code == .invalidArgument, "\(frame)")
        }
        // Re-opening an id (or going backwards) is a violation too.
        let server = MuxConnection(role: .server, now: .now)
        _ = server.receive(
            try MuxFrame.open(streamID: 5, store: nil, request: .spaces, traceparent: nil, credit: .zero)
                .encoded(), now: .now)
        let again = server.receive(
            try MuxFrame.open(streamID: 3, store: nil, request: .spaces, traceparent: nil, credit: .zero)
                .encoded(), now: .now)
        #expect(MuxPipe.closeError(again) != nil)
    }
}
