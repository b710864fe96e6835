import Foundation
import StreamKitTestSupport
import Testing

/// `serve --tls-cert/--tls-key` with `publish` and `tail` over `wss://` (`--ca-file`), with certificates made at
/// test time.
@Suite(.serialized) struct TLSCommandTests {
    @Test(
        "serve --tls-cert prints a wss:// URL; publish and tail with --ca-file go through it; without the CA they fail with a TLS message"
    )
    func publishAndTailOverWss() async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let data = temporaryPath("tls")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let store = UUID().uuidString
        let server = try await ServerProcess(
            data: data, auth: ["--no-auth"],
            extra: ["--tls-cert", certificates.serverCertificatePath, "--tls-key", certificates.serverKeyPath])
        defer { server.child.stop() }
        #expect(server.url.hasPrefix("wss://127.0.0.1:"))

        let published = try await ChildProcess.run(
            [
                "publish", server.url, "--store", store, "--space", "s", "--segment", "g", "--ca-file",
                certificates.caPath,
            ],
            stdin: "one\ntwo\n")
        let tail = try ChildProcess(
            ["tail", server.url, "--store", store, "--space", "s", "--from-start", "--ca-file", certificates.caPath])
        defer { tail.stop() }
        let lines = try await tail.lines(2)
        let untrusted = try await ChildProcess.run(
            [
                "publish", server.url, "--store", store, "--space", "s", "--segment", "g", "--ca-file",
                certificates.otherCAPath,
            ],
            stdin: "three\n")

        #expect(published.status == 0, "\(published.stderr)")
        #expect(lines.count == 2 && lines.allSatisfy { $0.contains("\"segment\":\"g\"") })
        #expect(untrusted.status == 1)
        #expect(untrusted.stderr.contains("TLS handshake"), "\(untrusted.stderr)")
        tail.signal(SIGINT)
        _ = try await tail.finished()
        let stopped = try await server.terminate()
        #expect(stopped.status == 0, "\(stopped.stderr)")
    }

    @Test("serve refuses --tls-cert without --tls-key (usage, status 64) and names an unreadable key file (status 1)")
    func badTLSOptions() async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let data = temporaryPath("tls-bad")
        defer { try? FileManager.default.removeItem(atPath: data) }

        let alone = try await ChildProcess.run(
            ["serve", "--data", data, "--port", "0", "--no-auth", "--tls-cert", certificates.serverCertificatePath])
        let missing = try await ChildProcess.run([
            "serve", "--data", data, "--port", "0", "--no-auth", "--tls-cert", certificates.serverCertificatePath,
            "--tls-key", certificates.directory + "/nope.pem",
        ])

        #expect(alone.status == 64, "\(alone.stderr)")
        #expect(missing.status == 1, "\(missing.stderr)")
        #expect(missing.stderr.contains("nope.pem"), "\(missing.stderr)")
    }
}
