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
    /// Set once a head was refused: the answer, written at the request's end.
    private var refusal: HTTPRefusal?

    /// - Parameters:
    ///   - path: The path that upgrades.
    ///   - logger: Where refusals are logged (debug).
    init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

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
}
