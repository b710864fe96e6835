import NIOCore
import Synchronization

/// The connections of a server that have not completed their upgrade, so a shutdown can close them at once
/// instead of waiting for their upgrade timeout, including the ones accepted but not yet handed to the server's
/// accept loop.
final class PendingUpgrades: Sendable {
    private struct State: ~Copyable {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    /// Tracks a new connection until ``remove(_:)``; false (and nothing tracked) once ``closeAll()`` was called:
    /// the caller closes the connection.
    func add(_ channel: any Channel) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.channels[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    /// Stops tracking a connection (upgraded or closed).
    func remove(_ channel: any Channel) {
        _ = state.withLock { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Closes every tracked connection; connections added later are refused.
    func closeAll() {
        let channels = state.withLock { state in
            state.closed = true
            defer { state.channels = [:] }
            return Array(state.channels.values)
        }
        for channel in channels { channel.close(promise: nil) }
    }
}
