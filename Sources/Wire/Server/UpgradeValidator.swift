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
    /// Whether the server is ready (`GET /health/ready`): nil when it is, else why not. Asked once the probe's
    /// request has been read to its end; the answer is written when it returns.
    private let readiness: @Sendable () async -> String?
    /// The Prometheus exposition (`GET /metrics`), when the server exports metrics.
    private let metrics: (@Sendable () -> [UInt8])?
    /// What a request that does not upgrade is answered once it has been read to its end.
    private enum Answer {
        /// This response (a refusal, the liveness probe, the metrics).
        case response(HTTPRefusal)
        /// What ``readiness`` says then.
        case readiness
    }
    /// Set once a head was refused or was a probe.
    private var answer: Answer?
    /// False on a port that serves only the probes and the metrics (``MetricsListener``): every other request is
    /// answered 404.
    private let upgrades: Bool

    /// The liveness probe's path: 200 while the server accepts connections.
    static let livePath = "/health/live"
    /// The readiness probe's path: 200 while the server is running and its backend answers, 503 before, while it
    /// shuts down, or when the backend does not answer.
    static let readyPath = "/health/ready"

    /// - Parameters:
    ///   - path: The path that upgrades.
    ///   - logger: Where refusals are logged (debug).
    ///   - readiness: Whether the server is ready to serve (the readiness probe's answer): nil when it is, else
    ///     why not.
    ///   - metrics: The Prometheus exposition served at `GET /metrics`; nil: 404 there.
    ///   - upgrades: Whether a request for `path` may go on to the upgrade; false: every request that is not a
    ///     probe or the exposition is answered 404.
    init(
        path: String, logger: Logger, readiness: @escaping @Sendable () async -> String? = { nil },
        metrics: (@Sendable () -> [UInt8])? = nil, upgrades: Bool = true
    ) {
        self.upgrades = upgrades
        self.path = path
        self.logger = logger
        self.readiness = readiness
        self.metrics = metrics
    }

    /// The path of the Prometheus exposition.
    static let metricsPath = "/metrics"

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = Self.unwrapInboundIn(data)
        if let answer {
            guard case .end = part else { return }
            switch answer {
            case .response(let response): response.write(on: context)
            case .readiness: answerReadiness(on: context)
            }
            return
        }
        guard case .head(let head) = part else {  // Not expected: this handler leaves once a head passed.
            context.fireChannelRead(data)
            return
        }
        if let probe = health(head) {  // Unauthenticated, answered before any upgrade check.
            answer = probe
            return
        }
        guard upgrades else {
            answer = .response(
                HTTPRefusal(.notFound, reason: "only /metrics, /health/live and /health/ready are served here"))
            return
        }
        if let refusal = UpgradeRequestCheck.refusal(for: head, path: path) {
            answer = .response(refusal)
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
    private func health(_ head: HTTPRequestHead) -> Answer? {
        guard head.method == .GET else { return nil }
        let target = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        switch target {
        case Self.livePath:
            return .response(HTTPRefusal(.ok, reason: "live"))
        case Self.readyPath:
            return .readiness
        case Self.metricsPath:
            guard let metrics else { return nil }
            return .response(
                HTTPRefusal(.ok, body: metrics(), contentType: "text/plain; version=0.0.4; charset=utf-8"))
        default:
            return nil
        }
    }

    /// Asks ``readiness`` off the event loop and writes its answer: 200 `ready`, or 503 with the reason.
    private func answerReadiness(on context: ChannelHandlerContext) {
        let promise = context.eventLoop.makePromise(of: String?.self)
        promise.completeWithTask { [readiness] in await readiness() }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        promise.futureResult.whenSuccess { reason in
            let answer =
                reason.map { HTTPRefusal(.serviceUnavailable, reason: "not ready: \($0)") }
                ?? HTTPRefusal(.ok, reason: "ready")
            answer.write(on: bound.value)
        }
    }
}
