import Foundation

/// Certificates made at test time with the `openssl` command (no private key is committed): a CA, a server
/// certificate it signs for `localhost` and `127.0.0.1`, and a second, unrelated CA. Removed by ``remove()``.
public struct TestCertificates: Sendable {
    public let directory: String
    /// PEM of the CA that signed ``serverCertificatePath``.
    public let caPath: String
    /// PEM of a CA that signed nothing here: a client trusting only it must refuse the server.
    public let otherCAPath: String
    public let serverCertificatePath: String
    public let serverKeyPath: String

    /// Generates the files in a new temporary directory.
    /// - Throws: When `openssl` is missing or fails (its output is in the error).
    public static func make() throws -> TestCertificates {
        let directory = NSTemporaryDirectory() + "streamkit-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificates = TestCertificates(
            directory: directory, caPath: directory + "/ca.pem", otherCAPath: directory + "/other-ca.pem",
            serverCertificatePath: directory + "/server.pem", serverKeyPath: directory + "/server-key.pem")
        do {
            try certificates.generate()
        } catch {
            certificates.remove()
            throw error
        }
        return certificates
    }

    public func remove() { try? FileManager.default.removeItem(atPath: directory) }

    private func generate() throws {
        let d = directory
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for (name, key, cert) in [
            ("StreamKit Test CA", "ca-key.pem", caPath), ("Other CA", "other-ca-key.pem", otherCAPath),
        ] {
            try Self.openssl(
                ["req", "-x509"] + ec + [
                    "-keyout", d + "/" + key, "-out", cert, "-days", "2", "-subj", "/CN=\(name)",
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                ])
        }
        try Self.openssl(
            ["req", "-new"] + ec + ["-keyout", serverKeyPath, "-out", d + "/server.csr", "-subj", "/CN=localhost"])
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(toFile: d + "/server.ext", atomically: true, encoding: .utf8)
        try Self.openssl([
            "x509", "-req", "-in", d + "/server.csr", "-CA", caPath, "-CAkey", d + "/ca-key.pem", "-CAcreateserial",
            "-out", serverCertificatePath, "-days", "2", "-extfile", d + "/server.ext",
        ])
    }

    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestCertificatesError(message: "openssl \(arguments.joined(separator: " ")) failed: \(text)")
        }
    }
}

/// `openssl` was missing or failed.
public struct TestCertificatesError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
