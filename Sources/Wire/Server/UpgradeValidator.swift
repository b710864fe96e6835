import Logging
import Metrics
import NIOCore
import NIOHTTP1

/// Sits in front of NIO's upgrade handler and checks the request head with ``UpgradeRequestCheck``: a
/// well-formed upgrade goes on (and this handler leaves the pipeline); anything else is answered with its
/// ``HTTPRefusal`` once the request has been read to its end, and the connection closes. The upgrader never
/// sees a refused request.
final class UpgradeValidator: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let path: String
    private let logger: Logger
    /// Whether the server is ready (`GET /health/ready`).
    private let isReady: @Sendable () -> Bool
    /// The Prometheus exposition (`GET /metrics`), when the server exports metrics.
    private let metrics: (@Sendable () -> [UInt8])?
    /// Set once a head was refused (or was a health probe): the answer, written at the request's end.
    private var refusal: HTTPRefusal?

    /// The liveness probe's path: 200 while the server accepts connections.
    static let livePath = "/health/live"
    /// The readiness probe's path: 200 while the server is running, 503 before and while it shuts down.
    static let readyPath = "/health/ready"

    /// - Parameters:
    ///   - path: The path that upgrades.
    ///   - logger: Where refusals are logged (debug).
    ///   - isReady: Whether the server is ready to serve (the readiness probe's answer).
    ///   - metrics: The Prometheus exposition served at `GET /metrics`; nil: 404 there.
    init(
        path: String, logger: Logger, isReady: @escaping @Sendable () -> Bool = { true },
        metrics: (@Sendable () -> [UInt8])? = nil
    ) {
        self.path = path
        self.logger = logger
        self.isReady = isReady
        self.metrics = metrics
    }

    /// The path of the Prometheus exposition.
    static let metricsPath = "/metrics"

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = Self.unwrapInboundIn(data)
        if let refusal {
            if case .end = part { refusal.write(on: context) }
            return
        }
        guard case .head(let head) = part else {  // Not expected: this handler leaves once a head passed.
            context.fireChannelRead(data)
            return
        }
        if let probe = health(head) {  // Unauthenticated, answered before any upgrade check.
            refusal = probe
            return
        }
        if let refusal = UpgradeRequestCheck.refusal(for: head, path: path) {
            self.refusal = refusal
            Counter(
                label: "streamkit_server_upgrades_refused_total", dimensions: [("status", "\(refusal.status.code)")]
            ).increment()
            logger.debug("upgrade refused with \(refusal.status.code): \(refusal.reason)")
            return
        }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// The answer to a health probe (`GET` of ``livePath`` or ``readyPath``), nil for other requests.
    private func health(_ head: HTTPRequestHead) -> HTTPRefusal? {
        guard head.method == .GET else { return nil }
        let target = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        switch target {
        case Self.livePath:
            return HTTPRefusal(.ok, reason: "live")
        case Self.readyPath:
            return isReady()
                ? HTTPRefusal(.ok, reason: "ready")
                : HTTPRefusal(.serviceUnavailable, reason: "not ready: shutting down")
        case Self.metricsPath:
            guard let metrics else { return nil }
            return HTTPRefusal(.ok, body: metrics(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        default:
            return nil
        }
    }
}
