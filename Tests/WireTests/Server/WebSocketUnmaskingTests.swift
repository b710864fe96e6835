import NIOCore
import NIOWebSocket
import StreamKitWire
import Testing

/// The server's word-wise unmasking of client frames against NIO's byte-wise one.
struct WebSocketUnmaskingTests {
    @Test(arguments: [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 64, 1_000, 4_099])
    func unmaskingAPayloadGivesWhatNIOGivesForEveryLength(length: Int) throws {
        var generator = SystemRandomNumberGenerator()
        let payload = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let key = try #require(WebSocketMaskingKey([0x12, 0xA5, 0x7F, 0xC3]))
        var masked = ByteBuffer(bytes: payload)
        masked.webSocketMask(key)
        let frame = WebSocketFrame(fin: true, opcode: .binary, maskKey: key, data: masked)

        let unmasked = frame.unmaskedPayload

        #expect(Array(unmasked.readableBytesView) == payload)
        #expect(unmasked == frame.unmaskedData)
        #expect(Array(frame.data.readableBytesView) == Array(masked.readableBytesView))  // The frame is untouched.
    }

    @Test func anUnmaskedFrameIsHandedOutAsItIs() {
        let frame = WebSocketFrame(fin: true, opcode: .binary, data: ByteBuffer(bytes: [1, 2, 3]))

        #expect(Array(frame.unmaskedPayload.readableBytesView) == [1, 2, 3])
    }
}
