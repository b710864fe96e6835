import Foundation
import NIOSSL
import PostgresNIO
import StreamKitEngine

/// Where the database is: parsed from a connection URL,
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require]` (also `postgresql://`).
/// The password may be left out of the URL and given separately (`STREAMKIT_POSTGRES_PASSWORD`, so that it
/// does not show in `ps`). TLS defaults to off on loopback hosts and to `prefer` elsewhere.
public struct PostgresLocation: Sendable, Hashable {
    /// How a connection uses TLS.
    public enum TLSMode: String, Sendable, Hashable {
        /// Never.
        case disable
        /// When the server offers it.
        case prefer
        /// Always; the connection fails without it.
        case require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// A directory holding the server's unix-domain socket (`?host=/path` in the URL, as libpq spells it): the
    /// connection then goes through `<directory>/.s.PGSQL.<port>` instead of TCP (no TLS).
    public var socketDirectory: String?

    /// Creates a location.
    public init(
        host: String, port: Int = 5432, username: String, password: String? = nil, database: String,
        tls: TLSMode = .prefer
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// Parses a connection URL.
    /// - Throws: `StreamKitError` `.invalidArgument` naming what is wrong (the password is never echoed).
    public init(url: String) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw StreamKitError(code: .invalidArgument, message: "not a postgres:// URL")
        }
        guard let host = components.host, !host.isEmpty else {
            throw StreamKitError(code: .invalidArgument, message: "the PostgreSQL URL names no host")
        }
        guard let user = components.user, !user.isEmpty else {
            throw StreamKitError(code: .invalidArgument, message: "the PostgreSQL URL names no user")
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !database.isEmpty else {
            throw StreamKitError(code: .invalidArgument, message: "the PostgreSQL URL names no database")
        }
        var tls: TLSMode = Self.isLoopback(host) ? .disable : .prefer
        var socketDirectory: String?
        for item in components.queryItems ?? [] where item.name == "host" {
            guard let value = item.value, value.hasPrefix("/") else {
                throw StreamKitError(
                    code: .invalidArgument, message: "host= in the PostgreSQL URL must name a socket directory (/…)")
            }
            socketDirectory = value
        }
        for item in components.queryItems ?? [] where item.name == "sslmode" {
            switch item.value ?? "" {
            case "disable", "allow": tls = .disable
            case "prefer": tls = .prefer
            case "require", "verify-ca", "verify-full": tls = .require
            default:
                throw StreamKitError(
                    code: .invalidArgument, message: "unknown sslmode \"\(item.value ?? "")\" in the PostgreSQL URL")
            }
        }
        self.init(
            host: host, port: components.port ?? 5432, username: user.removingPercentEncoding ?? user,
            password: components.password.map { $0.removingPercentEncoding ?? $0 }, database: database, tls: tls)
        self.socketDirectory = socketDirectory
    }

    /// The socket file when ``socketDirectory`` is set.
    private var socketPath: String? { socketDirectory.map { "\($0)/.s.PGSQL.\(port)" } }

    /// The URL without the password (for logs).
    public var redacted: String {
        "postgres://\(username)@\(host):\(port)/\(database)" + (socketDirectory.map { "?host=\($0)" } ?? "")
    }

    private static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "127.0.0.1" || host == "::1" || host == "[::1]"
    }

    /// A pooled client's configuration; `statementTimeout` is set on every connection.
    func clientConfiguration(statementTimeout: Duration, maxConnections: Int) -> PostgresClient.Configuration {
        var configuration =
            socketPath.map {
                PostgresClient.Configuration(
                    unixSocketPath: $0, username: username, password: password, database: database)
            }
            ?? PostgresClient.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: clientTLS)
        configuration.options.maximumConnections = max(1, maxConnections)
        configuration.options.minimumConnections = 0
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.additionalStartupParameters = Self.startupParameters(statementTimeout: statementTimeout)
        return configuration
    }

    /// A single connection's configuration.
    func connectionConfiguration(statementTimeout: Duration) -> PostgresConnection.Configuration {
        var configuration =
            socketPath.map {
                PostgresConnection.Configuration(
                    unixSocketPath: $0, username: username, password: password, database: database)
            }
            ?? PostgresConnection.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: connectionTLS)
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.additionalStartupParameters = Self.startupParameters(statementTimeout: statementTimeout)
        return configuration
    }

    private static func startupParameters(statementTimeout: Duration) -> [(String, String)] {
        let milliseconds = max(
            1,
            statementTimeout.components.seconds * 1_000 + statementTimeout.components.attoseconds
                / 1_000_000_000_000_000)
        return [("statement_timeout", "\(milliseconds)"), ("application_name", "streamkit")]
    }

    private var clientTLS: PostgresClient.Configuration.TLS {
        switch tls {
        case .disable: return .disable
        case .prefer: return .prefer(.makeClientConfiguration())
        case .require: return .require(.makeClientConfiguration())
        }
    }

    private var connectionTLS: PostgresConnection.Configuration.TLS {
        switch tls {
        case .disable: return .disable
        case .prefer, .require:
            // A context per connection configuration; failing to build one (no system trust store) means no TLS.
            guard let context = try? NIOSSLContext(configuration: .makeClientConfiguration()) else { return .disable }
            return tls == .require ? .require(context) : .prefer(context)
        }
    }
}
