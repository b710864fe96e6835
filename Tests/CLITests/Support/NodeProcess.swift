import Foundation
import Testing

/// A `streamkit serve --postgres URL --no-auth` node on a free port, one of several over one database.
final class NodeProcess: Sendable {
    let child: ChildProcess
    let url: String
    /// The arguments after `serve`, to start the node again (``restarted()``).
    let arguments: [String]

    /// Starts a node over the test database and waits for its URL line.
    convenience init(extra: [String] = []) async throws {
        try await self.init(arguments: ["--postgres", try TestDatabase.url(), "--port", "0", "--no-auth"] + extra)
    }

    private init(arguments: [String], environment: [String: String] = [:]) async throws {
        self.arguments = arguments
        child = try ChildProcess(["serve"] + arguments, environment: environment)
        do {
            url = try await child.lines(1, timeout: .seconds(120)).first ?? ""
        } catch {
            child.stop()
            throw error
        }
    }

    /// The same node started again (on a new free port).
    func restarted() async throws -> NodeProcess { try await NodeProcess(arguments: arguments) }

    /// Three nodes over the test database.
    static func three() async throws -> [NodeProcess] {
        var nodes: [NodeProcess] = []
        do {
            for _ in 0..<3 { nodes.append(try await NodeProcess()) }
        } catch {
            for node in nodes { node.child.stop() }
            throw error
        }
        return nodes
    }

    /// SIGTERM, then the exit.
    func terminate() async throws -> Finished {
        child.signal(SIGTERM)
        return try await child.finished(timeout: .seconds(60))
    }

    /// `kill -9`, then the exit.
    func kill9() async throws {
        child.signal(SIGKILL)
        _ = try await child.finished(timeout: .seconds(60))
    }
}
