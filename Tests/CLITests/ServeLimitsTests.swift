import Foundation
import Testing

/// What `streamkit serve` sets up for itself before it listens.
@Suite(.serialized) struct ServeLimitsTests {
    @Test("serve raises its soft open-file limit to the hard limit (connections and stores each hold descriptors)")
    func serveRaisesTheOpenFileLimit() async throws {
        let data = temporaryPath("limits")
        defer { try? FileManager.default.removeItem(atPath: data) }
        // Started with a soft limit of 256 (the hard one unchanged), as a default `ulimit -n` would leave it.
        let server = try await ServerProcess(
            data: data, auth: ["--no-auth"], launcher: ["/usr/bin/prlimit", "--nofile=256:"])
        defer { server.child.stop() }

        let limits = try String(contentsOfFile: "/proc/\(server.child.pid)/limits", encoding: .utf8)
        let line = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") })
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)

        #expect(fields.count >= 5)
        #expect(fields[3] == fields[4], "\(line)")
        #expect(fields[3] != "256", "\(line)")
        _ = try await server.terminate()
    }
}
