import FoundationEssentials
import StreamKitEngine
import StreamKitWire
import Testing

/// The mux frame codec: round trips, exact bytes, and typed errors for hostile frames.
struct MuxFrameTests {
    private static let samples: [MuxFrame] = [
        .open(
            streamID: 1, store: UUID(uuidString: "6F9619FF-8B86-D011-B42D-00C04FC964FF"),
            request: .peek(space: "orders", segment: "eu"),
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            credit: MuxCredit(messages: 64, bytes: 1 << 20)),
        .open(
            streamID: 11, store: UUID(uuidString: "6F9619FF-8B86-D011-B42D-00C04FC964FF"), request: .spaces,
            traceparent: nil, credit: .zero),
        .open(streamID: 300, store: nil, request: .spaces, traceparent: nil, credit: .zero),
        .data(streamID: 3, message: .names(["a", "b"])),
        .data(streamID: 3, message: .ack(true)),
        .close(streamID: 5),
        .error(streamID: 7, error: StreamKitError(code: .forbidden, message: "not yours")),
        .error(
            streamID: 7,
            error: StreamKitError(code: .limitExceeded, message: "too big", limit: 10, value: 11)),
        .credit(streamID: 9, credit: MuxCredit(messages: 1, bytes: 128)),
        .ping(0x0102_0304_0506_0708),
        .pong(.max),
        .goAway(lastStreamID: 41, error: nil),
        .goAway(lastStreamID: 0, error: StreamKitError(code: .storeUnavailable, message: "shutting down")),
    ]

    // MARK: - Round trips

    @Test func everyFrameTypeRoundTrips() throws {
        for frame in Self.samples {
            let bytes = try frame.encoded()
            #expect(try MuxFrame(decoding: bytes) == frame)
        }
    }

    @Test func controlFramesHaveTheDocumentedBytes() throws {
        #expect(try MuxFrame.close(streamID: 5).encoded() == [0x03, 0x05])
        #expect(
            try MuxFrame.credit(streamID: 300, credit: MuxCredit(messages: 1, bytes: 128)).encoded()
                == [0x05, 0xAC, 0x02, 0x01, 0x80, 0x01])
        #expect(try MuxFrame.ping(1).encoded() == [0x06, 0x00, 1, 0, 0, 0, 0, 0, 0, 0])
        #expect(try MuxFrame.goAway(lastStreamID: 7, error: nil).encoded() == [0x08, 0x00, 0x07, 0x00])
        let data = try MuxFrame.data(streamID: 2, message: .ack(true)).encoded()
        var encoder = WireEncoder()
        #expect(data == [0x02, 0x02] + (try encoder.encode(.ack(true))))
    }

    // MARK: - Hostile frames

    @Test func hostileFramesGiveTypedErrors() {
        let cases: [([UInt8], WireError.Code)] = [
            ([], .truncated),
            ([0x00, 0x01], .malformed),  // unknown type
            ([0x09, 0x01], .malformed),  // unknown type
            ([0x03, 0x00], .malformed),  // close on stream 0
            ([0x06, 0x01, 0, 0, 0, 0, 0, 0, 0, 0], .malformed),  // ping on a stream
            ([0x06, 0x00, 0, 0, 0], .truncated),  // short ping
            ([0x03, 0x05, 0x00], .malformed),  // trailing byte
            ([0x05, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00], .tooLarge),  // credit over 2^31-1
            ([0x05, 0x01, 0x80, 0x00, 0x00], .malformed),  // non-minimal varint
            ([0x01, 0x01, 0x04], .malformed),  // unknown open flag
            ([0x01, 0x01, 0x02, 0xAA], .truncated),  // store id cut short
            ([0x01, 0x01, 0x01, 0xFF, 0x7F], .tooLarge),  // traceparent over the limit
            ([0x01, 0x01, 0x01, 0x01, 0xC3, 0x00, 0x00], .invalidUTF8),
            ([0x02, 0x01], .truncated),  // data without a message
            ([0x08, 0x00, 0x01, 0x05], .malformed),  // goAway bad presence
        ]
        for (bytes, code) in cases {
            do {
                let frame = try MuxFrame(decoding: bytes)
                Issue.record("decoded \(frame) from \(bytes)")
            } catch {
                #expect(error.code == code, "\(bytes): \(error)")
            }
        }
    }

    @Test func oversizedFrameIsRefusedBeforeDecoding() {
        let limits = MuxLimits(maxFrameBytes: 64)
        let bytes: [UInt8] = [0x02, 0x01] + [UInt8](repeating: 0, count: 100)
        #expect(throws: WireError.self) { try MuxFrame(decoding: bytes, limits: limits) }
        let big = MuxFrame.data(streamID: 1, message: .names([String](repeating: "name", count: 40)))
        #expect(throws: WireError.self) { try big.encoded(limits: limits) }
    }
}
