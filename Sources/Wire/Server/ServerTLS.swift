import NIOSSL
import StreamKitEngine

/// TLS for ``StreamKitServer``: the server's certificate chain and private key, PEM files read when the server
/// starts. Clients then connect with `wss://`.
public struct ServerTLS: Sendable, Hashable {
    /// PEM file holding the server's certificate first, then any intermediate certificates.
    public var certificateChainPath: String
    /// PEM file holding the certificate's private key (unencrypted).
    public var privateKeyPath: String

    /// Creates the settings.
    /// - Parameters:
    ///   - certificateChainPath: PEM file with the server certificate (and intermediates).
    ///   - privateKeyPath: PEM file with its private key.
    public init(certificateChainPath: String, privateKeyPath: String) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
    }

    /// Loads the files into a TLS context (TLS 1.2 at least).
    /// - Throws: `invalidArgument` naming the file that cannot be read or used.
    func makeContext() throws(StreamKitError) -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateChainPath)
        } catch {
            throw StreamKitError(
                code: .invalidArgument,
                message: "cannot read the TLS certificate chain \(certificateChainPath): \(error)")
        }
        guard !chain.isEmpty else {
            throw StreamKitError(code: .invalidArgument, message: "no certificate in \(certificateChainPath)")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: privateKeyPath, format: .pem)
        } catch {
            throw StreamKitError(
                code: .invalidArgument, message: "cannot read the TLS private key \(privateKeyPath): \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw StreamKitError(
                code: .invalidArgument,
                message: "the TLS certificate \(certificateChainPath) and key \(privateKeyPath) are unusable: \(error)")
        }
    }
}
