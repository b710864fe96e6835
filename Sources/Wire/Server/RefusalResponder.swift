import NIOCore
import NIOHTTP1

/// Answers a request that NIO's upgrader did not upgrade with an ``HTTPRefusal`` and closes: 401
/// (`WWW-Authenticate: Bearer`) for an upgrade whose token was refused.
///
/// Requests that are no well-formed StreamKit upgrade never get here: ``UpgradeValidator`` answers them. A 401 is
/// written as soon as the handler is in place: the token was checked asynchronously, and NIO's upgrade handler
/// consumes the request's head and end while it waits for that decision, so no request part would ever reach
/// this handler. Any other refusal is written once the request's end arrives.
final class RefusalResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let refusal: HTTPRefusal
    private let atOnce: Bool
    private var responded = false

    /// - Parameters:
    ///   - refusal: The answer.
    ///   - atOnce: Answer when added to the pipeline instead of at the request's end.
    init(_ refusal: HTTPRefusal, atOnce: Bool) {
        self.refusal = refusal
        self.atOnce = atOnce
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if atOnce { respond(context) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = Self.unwrapInboundIn(data) else { return }
        respond(context)
    }

    private func respond(_ context: ChannelHandlerContext) {
        guard !responded else { return }
        responded = true
        refusal.write(on: context)
    }
}
