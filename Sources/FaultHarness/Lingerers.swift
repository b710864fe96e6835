import Foundation

/// Idle and slowloris connections: `idle` connections that send nothing and `slow` ones that send a request
/// head one byte a second without ever finishing it, all opened at once on a thread of their own. They are
/// watched until the server has closed each or `window` has passed; a server that times out connections which
/// never complete the upgrade closes them all well within the window.
enum Lingerers {
    /// Starts the thread; `done` is called once every connection is closed or given up on.
    static func start(
        port: Int, idle: Int, slow: Int, window: Duration, stop: StopSignal, tally: GarbageTally,
        done: @escaping @Sendable () -> Void
    ) {
        Thread.detachNewThread {
            run(port: port, idle: idle, slow: slow, window: window, stop: stop, tally: tally)
            done()
        }
    }

    private static func run(port: Int, idle: Int, slow: Int, window: Duration, stop: StopSignal, tally: GarbageTally) {
        var sockets: [(socket: RawSocket, slow: Bool)] = []
        for index in 0..<(idle + slow) {
            guard let socket = RawSocket(port: port) else {
                tally.connectFailed()
                continue
            }
            sockets.append((socket, index >= idle))
        }
        let head = Array("GET /streamkit HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8)
        for (socket, slow) in sockets where slow { socket.send(head) }
        let opened = ContinuousClock.now
        var closedAt: [ContinuousClock.Instant?] = Array(repeating: nil, count: sockets.count)
        var lastDrip = opened
        while ContinuousClock.now - opened < window && !stop.isSet && closedAt.contains(where: { $0 == nil }) {
            let drip = ContinuousClock.now - lastDrip >= .seconds(1)
            if drip { lastDrip = ContinuousClock.now }
            for index in sockets.indices where closedAt[index] == nil {
                if sockets[index].socket.closedByPeer {
                    closedAt[index] = ContinuousClock.now
                } else if drip && sockets[index].slow {
                    sockets[index].socket.send([0x61])
                }
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let times = closedAt.compactMap { $0.map { $0 - opened } }
        tally.lingerers(opened: sockets.count, closed: times.count, slowest: times.max())
        for (socket, _) in sockets { socket.close() }
    }
}
