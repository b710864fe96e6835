import Crypto
import NIOCore
import NIOHTTP1
import NIOWebSocket

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The client side of the WebSocket opening handshake (RFC 6455 §4.1), as NIO's `NIOTypedWebSocketClientUpgrader`
/// does it — a random `Sec-WebSocket-Key`, version 13, the server's `Sec-WebSocket-Accept` checked — except that
/// frames go out through ``MaskingFrameEncoder`` rather than NIO's `WebSocketFrameEncoder`, which masks one byte
/// at a time (6% of the CPU of `wire.produce`) and, once added, cannot be taken out of the pipeline.
struct WebSocketClientUpgrader<UpgradeResult: Sendable>: NIOTypedHTTPClientProtocolUpgrader {
    let supportedProtocol = "websocket"
    let requiredUpgradeHeaders: [String] = []
    /// The `Sec-WebSocket-Key` of this handshake: 16 random bytes in base64.
    let requestKey: String
    private let maxFrameSize: Int
    private let upgradePipelineHandler: @Sendable (any Channel, HTTPResponseHead) -> EventLoopFuture<UpgradeResult>

    init(
        maxFrameSize: Int,
        upgradePipelineHandler: @escaping @Sendable (any Channel, HTTPResponseHead) -> EventLoopFuture<UpgradeResult>
    ) {
        var generator = SystemRandomNumberGenerator()
        self.requestKey = Data((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
            .base64EncodedString()
        self.maxFrameSize = maxFrameSize
        self.upgradePipelineHandler = upgradePipelineHandler
    }

    /// The `Sec-WebSocket-Accept` a server answers to `key`: base64 of the SHA-1 of the key and the protocol's GUID.
    static func acceptValue(for key: String) -> String {
        Data(Insecure.SHA1.hash(data: Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8)))
            .base64EncodedString()
    }

    func addCustom(upgradeRequestHeaders: inout HTTPHeaders) {
        upgradeRequestHeaders.add(name: "Sec-WebSocket-Key", value: requestKey)
        upgradeRequestHeaders.add(name: "Sec-WebSocket-Version", value: "13")
    }

    func shouldAllowUpgrade(upgradeResponse: HTTPResponseHead) -> Bool {
        let accept = upgradeResponse.headers["Sec-WebSocket-Accept"]
        return accept.count == 1 && accept[0] == Self.acceptValue(for: requestKey)
    }

    func upgrade(channel: any Channel, upgradeResponse: HTTPResponseHead) -> EventLoopFuture<UpgradeResult> {
        let maxFrameSize = maxFrameSize
        return channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(MaskingFrameEncoder())
            try pipeline.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maxFrameSize)))
            try pipeline.addHandler(WebSocketProtocolErrorHandler(isServer: false))
        }
        .flatMap { upgradePipelineHandler(channel, upgradeResponse) }
    }
}
