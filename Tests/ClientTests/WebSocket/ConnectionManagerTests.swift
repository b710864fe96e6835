import Logging
import StreamKitEngine
import StreamKitWire
import Synchronization
import Testing

@testable import StreamKitClient

/// The WebSocket transport's connection manager, with dials stubbed: what the background reconnect loop does with
/// what a dial hands back.
struct ConnectionManagerTests {
    /// Hands out the connections given, one per dial, and counts the dials.
    private final class ScriptedDials: Sendable {
        private let script: Mutex<[ClientConnection]>

        init(_ connections: [ClientConnection]) { script = Mutex(connections) }

        func next() throws -> ClientConnection {
            try script.withLock { script in
                guard !script.isEmpty else { throw StreamKitError(code: .storeUnavailable, message: "no more dials") }
                return script.removeFirst()
            }
        }
    }

    private static func connection(serial: UInt64, lost: Bool) async -> ClientConnection {
        let (_, output) = AsyncStream<[UInt8]>.makeStream()
        let connection = ClientConnection(serial: serial, url: "ws://test", limits: MuxLimits(), output: output)
        if lost { await connection.shutdown(StreamKitError(code: .storeUnavailable, message: "dropped")) }
        return connection
    }

    @Test func aDialHandingBackALostConnectionCountsAsAFailedAttemptAndTheLoopBacksOff() async throws {
        let lost1 = await Self.connection(serial: 1, lost: true)
        let lost2 = await Self.connection(serial: 2, lost: true)
        let good = await Self.connection(serial: 3, lost: false)
        let dials = ScriptedDials([lost1, lost2, good])
        var options = WebSocketOptions(url: "ws://test")
        options.reconnectInitialBackoff = .milliseconds(1)
        options.reconnectMaxBackoff = .milliseconds(2)
        let manager = ConnectionManager(
            options: options, logger: Logger(label: "test"), connect: { try dials.next() })

        let connection = try await manager.reconnected()

        #expect(connection === good)  // Waiters are never handed a connection already lost.
        #expect(await manager.dialCount == 3)
        #expect(await manager.failedReconnects == 2)  // Each lost one was a failed attempt, with its back-off.
        await manager.close()
        await good.shutdown(StreamKitError.clientClosed(), connectionLost: false)
    }
}
