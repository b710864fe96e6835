import StreamKitEngine
import StreamKitWire

/// Two ``MuxConnection``s wired back to back through in-memory queues, with an explicit clock.
///
/// Frames returned by the `send`-side methods go in with ``clientWrites(_:)`` / ``serverWrites(_:)``;
/// ``pump()`` delivers every queued frame, routes the receivers' `.send` actions back, and records every
/// other action per side, in order.
final class MuxPipe {
    let client: MuxConnection
    let server: MuxConnection
    var now: ContinuousClock.Instant
    private(set) var toServer: [[UInt8]] = []
    private(set) var toClient: [[UInt8]] = []
    /// Non-send actions the client produced.
    var clientEvents: [MuxAction] = []
    /// Non-send actions the server produced.
    var serverEvents: [MuxAction] = []

    init(client clientLimits: MuxLimits = MuxLimits(), server serverLimits: MuxLimits = MuxLimits()) {
        now = ContinuousClock.now
        client = MuxConnection(role: .client, limits: clientLimits, now: now)
        server = MuxConnection(role: .server, limits: serverLimits, now: now)
    }

    func clientWrites(_ frame: [UInt8]?) { if let frame { toServer.append(frame) } }
    func serverWrites(_ frame: [UInt8]?) { if let frame { toClient.append(frame) } }

    /// Delivers queued frames in both directions, one each way in turn, until none are left.
    func pump() {
        var serverHead = 0
        var clientHead = 0
        while serverHead < toServer.count || clientHead < toClient.count {
            if serverHead < toServer.count {
                let frame = toServer[serverHead]
                serverHead += 1
                route(server.receive(frame, now: now), fromServer: true)
            }
            if clientHead < toClient.count {
                let frame = toClient[clientHead]
                clientHead += 1
                route(client.receive(frame, now: now), fromServer: false)
            }
        }
        toServer.removeAll()
        toClient.removeAll()
    }

    /// Routes actions a side produced outside `pump` (a tick).
    func route(_ actions: [MuxAction], fromServer: Bool) {
        for action in actions {
            if case .send(let frame) = action {
                if fromServer { toClient.append(frame) } else { toServer.append(frame) }
            } else if fromServer {
                serverEvents.append(action)
            } else {
                clientEvents.append(action)
            }
        }
    }

    /// Messages delivered on a stream, in order, from the events of one side.
    static func messages(_ events: [MuxAction], on id: UInt64) -> [WireMessage] {
        events.compactMap { event in
            switch event {
            case .streamOpened(id, _, let request, _): request
            case .message(id, let message): message
            default: nil
            }
        }
    }

    /// Messages delivered per stream, in order, from the events of one side.
    static func messagesByStream(_ events: [MuxAction]) -> [UInt64: [WireMessage]] {
        var result: [UInt64: [WireMessage]] = [:]
        for event in events {
            switch event {
            case .streamOpened(let id, _, let request, _): result[id, default: []].append(request)
            case .message(let id, let message): result[id, default: []].append(message)
            default: break
            }
        }
        return result
    }

    /// The reset error for a stream, if any.
    static func resetError(_ events: [MuxAction], on id: UInt64) -> StreamKitError? {
        for case .streamReset(id, let error) in events { return error }
        return nil
    }

    static func closeError(_ events: [MuxAction]) -> StreamKitError? {
        for case .closeConnection(let error) in events { return error }
        return nil
    }
}
