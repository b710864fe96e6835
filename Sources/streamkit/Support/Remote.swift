import ArgumentParser
import Foundation
import Logging
import StreamKitClient
import StreamKitEngine

/// Reaching a StreamKit server: the WebSocket URL, the bearer token (`--token` or `STREAMKIT_TOKEN`) and a
/// client whose errors come back as one line.
enum Remote {
    /// The environment variable read when `--token` is not given.
    static let tokenVariable = "STREAMKIT_TOKEN"

    /// Checks that `url` is a `ws://` or `wss://` URL with a host.
    /// - Throws: `ValidationError` (usage, status 64) otherwise.
    static func validate(url: String, option: String = "URL") throws {
        guard let parsed = URLComponents(string: url), let scheme = parsed.scheme?.lowercased(),
            scheme == "ws" || scheme == "wss", let host = parsed.host, !host.isEmpty
        else {
            throw ValidationError("\(option) must look like ws://HOST:PORT/streamkit or wss://…, got '\(url)'")
        }
    }

    /// Parses a store id.
    /// - Throws: `ValidationError` (usage, status 64) for anything but a UUID.
    static func storeID(_ text: String) throws -> UUID {
        guard let id = UUID(uuidString: text) else {
            throw ValidationError("--store must be a store id (UUID), got '\(text)'")
        }
        return id
    }

    /// `--token`, else `STREAMKIT_TOKEN`, else none.
    static func token(_ option: String?) -> String? {
        if let option, !option.isEmpty { return option }
        if let value = ProcessInfo.processInfo.environment[tokenVariable], !value.isEmpty { return value }
        return nil
    }

    /// A client for `url`: a few quick retries when opening a call (an unreachable server fails within about
    /// a second), no retry of a refused token, and no client logs (errors are reported by the command).
    /// With `wss://`, the server's certificate is checked against `caFile` (PEM) when given, else the system's
    /// trust store.
    static func client(url: String, token: String?, caFile: String?) -> StreamKitClient {
        var options = WebSocketOptions(url: url) { token }
        options.tls = ClientTLS(trustRootsPath: caFile)
        options.connectTimeout = .seconds(5)
        options.reconnectInitialBackoff = .milliseconds(200)
        options.reconnectMaxBackoff = .seconds(2)
        var logger = Logger(label: "streamkit.cli")
        logger.logLevel = .critical
        let configuration = ClientConfiguration(
            retryPolicy: RetryPolicy(
                maxAttempts: 3, initialBackoff: .milliseconds(100), maxBackoff: .milliseconds(500), multiplier: 2),
            logger: logger)
        return StreamKitClient(transport: .webSocket(options), configuration: configuration)
    }

    /// Turns a client error into the command's one line, naming what to check.
    static func describe(_ error: any Error, url: String) -> CLIError {
        guard let error = error as? StreamKitError else { return CLIError("\(url): \(error)") }
        switch error.code {
        case .unauthorized where error.message.hasPrefix("the TLS handshake"):
            return CLIError("\(error.message) — for a private CA pass --ca-file PEM")
        case .unauthorized:
            return CLIError(
                "\(error.message) — pass a valid token with --token or \(tokenVariable) (see `streamkit token`)")
        case .forbidden:
            return CLIError("\(error.message) — mint one for it with `streamkit token --store ID` or `--all`")
        case .storeUnavailable, .notFound:  // The message names the server and what happened.
            return CLIError(error.message)
        default:
            return CLIError(error.message.isEmpty ? "\(error)" : "\(error.code): \(error.message)")
        }
    }
}

/// Runs a remote command's body with `client`, closing it afterwards and reporting client errors as one line.
func withRemoteClient(
    url: String, token: String?, caFile: String? = nil, _ body: (StreamKitClient) async throws -> Void
) async throws {
    let client = Remote.client(url: url, token: token, caFile: caFile)
    do {
        try await body(client)
    } catch let error as CLIError {
        await client.close()
        throw error
    } catch {
        await client.close()
        throw Remote.describe(error, url: url)
    }
    await client.close()
}
