import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import StreamKitEngine
import StreamKitWire
import Synchronization

/// Dials the server: TCP connection, HTTP upgrade with the bearer token, WebSocket pipeline (frame limit = the
/// mux frame limit, fragments aggregated). Every failure becomes a ``StreamKitError``: an unreachable server or
/// a failed upgrade is the retryable `storeUnavailable`; an HTTP 401 is `unauthorized` (or `storeUnavailable`
/// with `retryAuthFailures`), 403 `forbidden`, 404 `notFound`. With `wss://` the connection runs over TLS first;
/// a failed TLS handshake (an untrusted or mismatched certificate, a server that does not speak TLS) is
/// `unauthorized`, which is not retried: the server could not be authenticated.
struct WebSocketDialer: Sendable {
    typealias Channel = NIOAsyncChannel<WebSocketFrame, WebSocketFrame>

    private enum Upgrade: Sendable {
        case webSocket(Channel)
        case refused(EventLoopFuture<HTTPResponseStatus>)
    }

    let url: String
    let tls: ClientTLS
    let limits: MuxLimits
    let connectTimeout: Duration
    let retryAuthFailures: Bool

    /// Connects and upgrades.
    ///
    /// - Parameter token: Sent as `Authorization: Bearer <token>` when not nil.
    /// - Returns: The WebSocket channel, ready for binary messages.
    func dial(token: String?) async throws(StreamKitError) -> Channel {
        let endpoint = try WebSocketEndpoint(parsing: url)
        let timeoutNanoseconds = Int64(clamping: RetryPolicy.nanoseconds(connectTimeout, fallback: 10_000_000_000))
        let timeout = TimeAmount.nanoseconds(timeoutNanoseconds)
        let maxFrame = limits.maxFrameBytes
        let context = endpoint.isSecure ? try tls.makeContext() : nil
        let handshakeFailure = TLSHandshakeFailure()
        let upgrade: EventLoopFuture<Upgrade>
        do {
            upgrade = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(timeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: endpoint.host, port: endpoint.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let context {
                            let handler = try NIOSSLClientHandler(
                                context: context, serverHostname: endpoint.hostIsAddress ? nil : endpoint.host)
                            try channel.pipeline.syncOperations.addHandlers(handler, handshakeFailure)
                        }
                        return try Self.configure(
                            channel, endpoint: endpoint, token: token, maxFrame: maxFrame, timeout: timeout)
                    }
                }
        } catch {
            throw StreamKitError(code: .storeUnavailable, message: "cannot reach the server at \(url): \(error)")
        }
        let result: Upgrade
        do {
            result = try await upgrade.get()
        } catch {
            if let failure = handshakeFailure.error {
                throw StreamKitError(
                    code: .unauthorized,
                    message:
                        "the TLS handshake with \(url) failed (is the server's CA trusted, and does its certificate "
                        + "name \(endpoint.host)?): \(failure)")
            }
            throw StreamKitError(code: .storeUnavailable, message: "the WebSocket upgrade with \(url) failed: \(error)")
        }
        switch result {
        case .webSocket(let channel):
            return channel
        case .refused(let status):
            let code: HTTPResponseStatus
            do {
                code = try await status.get()
            } catch {
                throw StreamKitError(
                    code: .storeUnavailable, message: "the server at \(url) closed the connection during the upgrade")
            }
            throw refusal(code)
        }
    }

    private static func configure(
        _ channel: any NIOCore.Channel, endpoint: WebSocketEndpoint, token: String?, maxFrame: Int, timeout: TimeAmount
    ) throws -> EventLoopFuture<Upgrade> {
        let upgrader = WebSocketClientUpgrader<Upgrade>(
            maxFrameSize: maxFrame,
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOWebSocketFrameAggregator(
                            minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1024,
                            maxAccumulatedFrameSize: maxFrame))
                    return Upgrade.webSocket(try Channel(wrappingChannelSynchronously: channel))
                }
            })
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: endpoint.hostHeader)
        headers.add(name: "Content-Length", value: "0")
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: endpoint.target, headers: headers)
        let configuration = NIOTypedHTTPClientUpgradeConfiguration<Upgrade>(
            upgradeRequestHead: head, upgraders: [upgrader],
            notUpgradingCompletionHandler: { channel in
                channel.eventLoop.makeCompletedFuture {
                    let status = channel.eventLoop.makePromise(of: HTTPResponseStatus.self)
                    try channel.pipeline.syncOperations.addHandler(UpgradeRefusal(status: status))
                    return Upgrade.refused(status.futureResult)
                }
            })
        let upgraded = try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
            configuration: .init(upgradeConfiguration: configuration))
        // The upgrade answer must come within the timeout too; closing the channel fails the upgrade.
        let deadline = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        upgraded.whenComplete { _ in deadline.cancel() }
        return upgraded
    }

    private func refusal(_ status: HTTPResponseStatus) -> StreamKitError {
        let answer = "HTTP \(status.code) \(status.reasonPhrase)"
        switch status.code {
        case 401 where retryAuthFailures:
            return StreamKitError(
                code: .storeUnavailable, message: "the server at \(url) refused the token (\(answer)); retrying")
        case 401:
            return StreamKitError(code: .unauthorized, message: "the server at \(url) refused the token (\(answer))")
        case 403:
            return StreamKitError(code: .forbidden, message: "the server at \(url) refused access (\(answer))")
        case 404:
            return StreamKitError(code: .notFound, message: "no StreamKit endpoint at \(url) (\(answer))")
        case 429:
            return StreamKitError(code: .overloaded, message: "the server at \(url) is overloaded (\(answer))")
        case 408, 500...599:
            return StreamKitError(code: .storeUnavailable, message: "the server at \(url) is unavailable (\(answer))")
        default:
            return StreamKitError(
                code: .invalidArgument, message: "the server at \(url) refused the upgrade (\(answer))")
        }
    }
}

/// Sits behind the TLS handler and keeps the first TLS error of the connection, which NIO reports through the
/// pipeline while the upgrade future only sees the channel close.
private final class TLSHandshakeFailure: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    private let first = Mutex<String?>(nil)

    /// The TLS error seen, if any.
    var error: String? { first.withLock { $0 } }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is BoringSSLError {
            let text = "\(error)"
            first.withLock { if $0 == nil { $0 = text } }
        }
        context.fireErrorCaught(error)
    }
}
