import Foundation

/// A `streamkit serve --no-auth` child listening on a free port of 127.0.0.1 over a data directory.
final class ServerUnderTest: Sendable {
    /// The server process.
    let child: Child
    /// The URL it printed once it listened (`ws://127.0.0.1:PORT/streamkit`).
    let url: String
    /// Its data directory.
    let data: String

    private init(child: Child, url: String, data: String) {
        self.child = child
        self.url = url
        self.data = data
    }

    /// Starts the server and waits for its URL line (the outcome, not a fixed delay).
    ///
    /// - Parameters:
    ///   - binary: The `streamkit` executable.
    ///   - data: The data directory.
    ///   - durability: `fsync`, `interval:MS` or `none`.
    ///   - timeout: How long to wait for the URL line.
    /// - Throws: ``StartFailure`` when the server ends, or stays silent, before printing its URL.
    static func start(
        _ binary: String, data: String, durability: String = "fsync", timeout: Duration = .seconds(60)
    ) async throws -> ServerUnderTest {
        let child = try Child(
            binary,
            [
                "serve", "--data", data, "--host", "127.0.0.1", "--port", "0", "--no-auth", "--durability", durability,
                "--log-level", "warning",
            ])
        guard let url = await child.firstLine(timeout: timeout), url.hasPrefix("ws://127.0.0.1:") else {
            let outcome = await child.wait(timeout: .seconds(5))
            throw StartFailure(data: data, outcome: outcome)
        }
        return ServerUnderTest(child: child, url: url, data: data)
    }

    /// A server that ended, or stayed silent (then it was killed), before printing its URL.
    struct StartFailure: Error, CustomStringConvertible {
        var data: String
        var outcome: Child.Outcome

        var description: String {
            "serve --data \(data) did not print its URL (\(outcome.end)): \(outcome.stderrTail())"
        }
    }

    /// The port of ``url``.
    var port: Int { Int(url.split(separator: ":").last?.split(separator: "/").first ?? "") ?? 0 }

    /// Resident memory now, in KiB.
    var residentKiB: Int? { ProcessProbe.residentKiB(child.pid) }

    /// Open file descriptors now.
    var openDescriptors: Int? { ProcessProbe.openDescriptors(child.pid) }

    /// SIGKILL, then the end.
    func crash() async -> Child.Outcome {
        child.signal(SIGKILL)
        return await child.wait(timeout: .seconds(30))
    }

    /// SIGTERM, then the end; killed (and `.timedOut`) when the graceful stop takes longer than `timeout`.
    func stop(timeout: Duration = .seconds(30)) async -> Child.Outcome {
        child.signal(SIGTERM)
        return await child.wait(timeout: timeout)
    }
}
