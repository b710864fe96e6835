import NIOSSL
import StreamKitEngine

/// How the WebSocket transport checks a `wss://` server: by default against the system's trust store, or
/// against the CA certificates of a PEM file (a private CA). The server's certificate must name the host of the
/// URL (a DNS name, or an IP address in its subject alternative names).
public struct ClientTLS: Sendable, Hashable {
    /// PEM file of CA certificates to trust instead of the system's trust store; nil (the default) uses the
    /// system's.
    public var trustRootsPath: String?

    /// Creates the settings.
    /// - Parameter trustRootsPath: PEM file of CA certificates to trust; nil for the system's trust store.
    public init(trustRootsPath: String? = nil) {
        self.trustRootsPath = trustRootsPath
    }

    /// A TLS context for dialling (TLS 1.2 at least, full certificate verification).
    /// - Throws: `invalidArgument` when the CA file cannot be read.
    func makeContext() throws(StreamKitError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        if let trustRootsPath {
            do {
                let roots = try NIOSSLCertificate.fromPEMFile(trustRootsPath)
                guard !roots.isEmpty else {
                    throw StreamKitError(code: .invalidArgument, message: "no certificate in \(trustRootsPath)")
                }
                configuration.trustRoots = .certificates(roots)
            } catch let error as StreamKitError {
                throw error
            } catch {
                throw StreamKitError(
                    code: .invalidArgument, message: "cannot read the CA file \(trustRootsPath): \(error)")
            }
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw StreamKitError(code: .invalidArgument, message: "cannot set up TLS: \(error)")
        }
    }
}
