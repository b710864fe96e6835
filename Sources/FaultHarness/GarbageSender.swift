import Foundation
import StreamKitTestSupport

/// The garbage phase's raw senders. Each runs on a thread of its own (blocking sockets; the concurrency pool
/// stays free for the legitimate clients) until told to stop, one input per new connection: random bytes (30 %),
/// a malformed HTTP request (35 %), or a valid upgrade followed by hostile WebSocket frames (35 %). The
/// server's answer is read (1 s at most) and dropped; a 101 to a request RFC 6455 says to refuse is counted.
enum GarbageSender {
    /// Starts a sender thread; `done` is called when it has stopped.
    static func start(
        port: Int, seed: UInt64, stop: StopSignal, tally: GarbageTally, done: @escaping @Sendable () -> Void
    ) {
        Thread.detachNewThread {
            var random = SplitMix64(seed: seed)
            while !stop.isSet {
                send(port: port, random: &random, tally: tally)
            }
            done()
        }
    }

    /// How long the server has to close a connection it refused (an HTTP error answer) before it counts as
    /// left open.
    static let lingerAfterAnswer = 2_000

    /// Counts a connection the server answered with an HTTP error but did not close.
    private static func noteRefusal(_ name: String, _ answer: (bytes: [UInt8], closed: Bool), tally: GarbageTally) {
        let head = String(decoding: answer.bytes.prefix(12), as: UTF8.self)
        if head.hasPrefix("HTTP/1.") && !head.hasPrefix("HTTP/1.1 101") && !answer.closed { tally.leftOpen(name) }
    }

    private static func send(port: Int, random: inout SplitMix64, tally: GarbageTally) {
        guard let socket = RawSocket(port: port) else {
            tally.connectFailed()
            return
        }
        defer { socket.close() }
        switch Int.random(in: 0..<100, using: &random) {
        case ..<30:
            tally.input("random bytes")
            socket.send(GarbageInputs.randomBytes(&random))
            noteRefusal("random bytes", socket.drain(milliseconds: lingerAfterAnswer), tally: tally)
        case ..<65:
            let (name, bytes) = GarbageInputs.malformedRequest(port: port, random: &random)
            tally.input("malformed HTTP: \(name)")
            socket.send(bytes)
            let answer = socket.drain(milliseconds: lingerAfterAnswer)
            let refusable = GarbageInputs.refusable(port: port).map(\.name)
            if refusable.contains(name), String(decoding: answer.bytes.prefix(12), as: UTF8.self) == "HTTP/1.1 101" {
                tally.refusableAccepted(name)
            } else {
                noteRefusal("malformed HTTP: \(name)", answer, tally: tally)
            }
        default:
            let key = Data((0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }).base64EncodedString()
            socket.send(Array(GarbageInputs.upgrade(port: port, key: key).utf8))
            let answer = socket.drain(milliseconds: 2_000, limit: 12)
            guard String(decoding: answer.bytes.prefix(12), as: UTF8.self) == "HTTP/1.1 101" else {
                tally.upgradeFailed()
                return
            }
            for _ in 0..<Int.random(in: 1...5, using: &random) {
                let (name, bytes) = GarbageInputs.frameGarbage(&random)
                tally.input("WebSocket: \(name)")
                guard socket.send(bytes) else { break }
            }
            _ = socket.drain(milliseconds: 1_000)
        }
    }
}
