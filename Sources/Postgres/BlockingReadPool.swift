import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import StreamKitEngine
import Synchronization

/// Connections for the engine's synchronous block reads (`StoreStorage.readBlock(at:)` is called from reader
/// threads, as a file read is): a query runs on a connection's event loop and the reader thread waits for its
/// answer, never on an event loop. Up to ``maxIdle`` connections are kept between reads.
final class BlockingReadPool: Sendable {
    static let maxIdle = 4

    private struct State {
        var idle: [PostgresConnection] = []
        var nextID = 1
        var closed = false
    }

    private let state = Mutex(State())
    private let configuration: PostgresConnection.Configuration
    private let logger: Logger

    init(configuration: PostgresConnection.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs `query` on a pooled connection (connecting one if none is idle) and returns its rows.
    func rows(_ query: PostgresQuery) throws -> [PostgresRow] {
        let (reused, id, closed) = state.withLock { state -> (PostgresConnection?, Int, Bool) in
            if let connection = state.idle.popLast() { return (connection, 0, state.closed) }
            state.nextID += 1
            return (nil, state.nextID, state.closed)
        }
        guard !closed else { throw StreamKitError.postgresClosed }
        let connection =
            try reused
            ?? PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: id, logger: logger
            ).wait()
        do {
            let result = try connection.query(query, logger: logger).wait()
            release(connection)
            return result.rows
        } catch {
            Self.discard(connection)
            throw error
        }
    }

    private func release(_ connection: PostgresConnection) {
        let keep = state.withLock { state -> Bool in
            guard !state.closed, state.idle.count < Self.maxIdle, !connection.isClosed else { return false }
            state.idle.append(connection)
            return true
        }
        if !keep { Self.discard(connection) }
    }

    /// Closes the idle connections; later reads fail.
    func close() {
        let idle = state.withLock { state -> [PostgresConnection] in
            state.closed = true
            defer { state.idle.removeAll() }
            return state.idle
        }
        for connection in idle { Self.discard(connection) }
    }

    /// Closes a connection and keeps it alive until it is closed (a `PostgresConnection` must be closed before it
    /// is released).
    static func discard(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }
}
