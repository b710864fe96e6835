import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import StreamKitEngine
import StreamKitPostgres
import StreamKitWire

/// `streamkit serve (--data DIR [--durability D] | --postgres URL) [--host H] [--port P]
/// (--jwt-secret S | --jwt-public-key PEM | --no-auth)`.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the StreamKit WebSocket server over the stores in a data directory or a PostgreSQL database.",
        discussion: """
            Prints the server's URL (ws://HOST:PORT/streamkit) on stdout once it listens; with --port 0 the \
            port is a free one chosen by the system. SIGINT or SIGTERM stop it gracefully: no new connections, \
            open streams end, commits in flight finish, every store is closed; then the exit status is 0. A second signal exits at once (status \
            130); acknowledged commits are in the write-ahead files (or committed in PostgreSQL) and recovered \
            on the next start.

            Stores live in --data DIR (files; one process per directory) or, with --postgres URL (or \
            \(PostgresOptions.urlVariable) when --data is not given), in a PostgreSQL database that several \
            `streamkit serve` nodes share: each commit is decided by the database and every node follows the \
            others' commits. Keep the password out of the URL (and out of `ps`) with \
            \(PostgresOptions.passwordVariable). A database that cannot be reached at start is an error (status 1).

            Exactly one of --jwt-secret, --jwt-public-key and --no-auth is required. The HS256 secret can \
            also come from the environment variable \(secretVariable) (kept out of the process list); mint \
            tokens for it with `streamkit token`.
            """)

    static let secretVariable = "STREAMKIT_JWT_SECRET"

    @Option(name: .long, help: "The data directory: one directory per store (created when missing).")
    var data: String?

    @OptionGroup var postgres: PostgresOptions

    @Option(
        name: .customLong("postgres-connections"),
        help: ArgumentHelp(
            "With --postgres: the most pooled database connections (default \(PostgresLog.Options().maxConnections)).",
            valueName: "n"))
    var postgresConnections: Int?

    @Option(
        name: .customLong("postgres-statement-timeout"),
        help: ArgumentHelp(
            "With --postgres: seconds a database statement may take before it fails as unavailable (default \(PostgresLog.Options().statementTimeout.components.seconds)).",
            valueName: "seconds"))
    var postgresStatementTimeout: Double?

    @Option(
        name: .customLong("postgres-connection-wait"),
        help: ArgumentHelp(
            "With --postgres: seconds a call may wait for a database connection before it fails as unavailable (default \(PostgresLog.Options().connectionWait.components.seconds)).",
            valueName: "seconds"))
    var postgresConnectionWait: Double?

    @Option(name: .long, help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(name: .long, help: "The port to listen on; 0 picks a free one.")
    var port = 7420

    @Option(
        name: .customLong("metrics-port"),
        help: ArgumentHelp(
            "Serve GET /metrics (and the health probes) on this port of --host instead of the server's port; 0 picks a free one.",
            valueName: "port"))
    var metricsPort: Int?

    @Option(
        name: .long,
        help:
            "With --data: when a commit is acknowledged, fsync (default), interval:MS or none. (With --postgres a commit is acknowledged once PostgreSQL committed it.)"
    )
    var durability: DurabilityArgument?

    @OptionGroup(title: "Retention") var retention: RetentionOptions

    @Option(name: .long, help: "How often retention and compaction run (default 60s).")
    var compactionInterval: AgeArgument?

    @Option(name: .long, help: "The most bytes per second compaction reads and writes (default 64MiB).")
    var compactionRate: ByteCountArgument?

    @Option(
        name: .customLong("jwt-secret"), help: "Accept HS256 tokens signed with this secret (or set \(secretVariable))."
    )
    var jwtSecret: String?

    @Option(
        name: .customLong("jwt-public-key"), help: "Accept ES256/RS256 tokens verified with this PEM public key file.")
    var jwtPublicKey: String?

    @Flag(name: .customLong("no-auth"), help: "Accept every caller without a token (local development only).")
    var noAuth = false

    @Option(
        name: .customLong("upgrade-timeout"),
        help: "Seconds a new connection has to complete its WebSocket upgrade before it is closed.")
    var upgradeTimeout: Double = 10

    @Option(
        name: .customLong("max-connections"),
        help: "Most connections open at once; one more is answered HTTP 503 and closed.")
    var maxConnections = 512

    @Option(
        name: .customLong("tls-cert"), help: "Serve wss:// (TLS only) with this PEM certificate chain; needs --tls-key."
    )
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "The PEM private key of --tls-cert.")
    var tlsKey: String?

    @Option(
        name: .customLong("log-level"),
        help: "Server and store logs on stderr: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "notice"

    /// HS256 keys shorter than the hash (32 bytes) are weak, and JWTKit will refuse them.
    static let minimumSecretBytes = 32

    /// - Throws: `ValidationError` for a secret shorter than ``minimumSecretBytes``.
    static func checkSecret(_ secret: String, source: String) throws {
        guard secret.utf8.count >= minimumSecretBytes else {
            throw ValidationError(
                "\(source) must be at least \(minimumSecretBytes) bytes (e.g. `head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'`)"
            )
        }
    }

    /// The secret from the environment, when no auth option was given.
    var environmentSecret: String? {
        guard let value = ProcessInfo.processInfo.environment[Self.secretVariable], !value.isEmpty else { return nil }
        return value
    }

    func validate() throws {
        try postgres.validate(directoryOption: "--data DIR", hasDirectory: data != nil)
        if data == nil && postgres.resolvedURL(hasDirectory: false) == nil {
            throw ValidationError(
                "choose where the stores live: --data DIR, or --postgres URL (or \(PostgresOptions.urlVariable))")
        }
        if data == nil {
            if durability != nil {
                throw ValidationError(
                    "--durability goes with --data; with --postgres a commit is acknowledged once PostgreSQL committed it"
                )
            }
        } else if postgresConnections != nil || postgresStatementTimeout != nil || postgresConnectionWait != nil {
            throw ValidationError(
                "--postgres-connections, --postgres-statement-timeout and --postgres-connection-wait go with --postgres"
            )
        }
        if let postgresConnections, !(1...1000).contains(postgresConnections) {
            throw ValidationError("--postgres-connections must be 1…1000, got \(postgresConnections)")
        }
        if let postgresStatementTimeout, !(postgresStatementTimeout >= 0.001 && postgresStatementTimeout <= 86_400) {
            throw ValidationError("--postgres-statement-timeout must be more than 0 and at most 86400 seconds")
        }
        if let postgresConnectionWait, !(postgresConnectionWait >= 0.001 && postgresConnectionWait <= 3600) {
            throw ValidationError("--postgres-connection-wait must be more than 0 and at most 3600 seconds")
        }
        let explicit = [jwtSecret != nil, jwtPublicKey != nil, noAuth].filter { $0 }.count
        if explicit > 1 { throw ValidationError("give only one of --jwt-secret, --jwt-public-key and --no-auth") }
        if explicit == 0 && environmentSecret == nil {
            throw ValidationError(
                "choose how callers are checked: --jwt-secret SECRET (or \(Self.secretVariable)), --jwt-public-key PEMFILE, or --no-auth"
            )
        }
        if explicit == 0 || jwtSecret != nil {
            try Self.checkSecret(
                jwtSecret ?? environmentSecret ?? "", source: jwtSecret != nil ? "--jwt-secret" : Self.secretVariable)
        }
        if !(0...65535).contains(port) { throw ValidationError("--port must be 0…65535, got \(port)") }
        if let metricsPort {
            if !(0...65535).contains(metricsPort) {
                throw ValidationError("--metrics-port must be 0…65535, got \(metricsPort)")
            }
            if metricsPort != 0 && metricsPort == port {
                throw ValidationError("--metrics-port must differ from --port")
            }
        }
        if !(upgradeTimeout > 0 && upgradeTimeout <= 3600) {
            throw ValidationError("--upgrade-timeout must be more than 0 and at most 3600 seconds")
        }
        if maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
        if (tlsCertificate == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        try await Output.run {
            // Every metric the process emits (swift-metrics) goes to this registry, served at GET /metrics.
            let prometheus = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: prometheus))
            let authentication = try self.authentication()
            let level = Logger.Level(rawValue: logLevel) ?? .notice
            var store = StoreConfiguration()
            store.logger.logLevel = level
            store.log.logger.logLevel = level
            let registry: StoreRegistry
            let database: PostgresLog?
            let serving: String
            store.retention = RetentionConfiguration(
                policy: retention.policy, interval: compactionInterval?.value ?? .seconds(60),
                compactionBytesPerSecond: compactionRate?.value ?? (64 << 20))
            if let data {
                try prepare(data)
                OpenFileLimit.raiseToHardLimit()  // Before the registry sizes its open-store bound from it.
                let durability = durability ?? DurabilityArgument(.fsync)
                store.log.durability = durability.value
                registry = StoreRegistry(root: data, configuration: RegistryConfiguration(store: store))
                database = nil
                serving = "\(data) (durability \(durability)"
            } else {
                guard let (url, source) = postgres.resolvedURL(hasDirectory: false) else {
                    throw CLIError("no data directory and no PostgreSQL URL")  // validate() rules it out
                }
                let location = try PostgresOptions.location(url: url, source: source)
                var options = PostgresLog.Options()
                if let postgresConnections { options.maxConnections = postgresConnections }
                if let postgresStatementTimeout {
                    options.statementTimeout = Self.duration(seconds: postgresStatementTimeout)
                }
                if let postgresConnectionWait {
                    options.connectionWait = Self.duration(seconds: postgresConnectionWait)
                }
                var logger = Logger(label: "streamkit.postgres")
                logger.logLevel = level
                let log = try await PostgresOptions.connect(location, options: options, logger: logger)
                OpenFileLimit.raiseToHardLimit()
                registry = StoreRegistry(
                    root: "", configuration: log.registryConfiguration(RegistryConfiguration(store: store)))
                database = log
                serving = "PostgreSQL \(location.redacted) (\(options.maxConnections) connections"
            }
            var configuration = StreamKitServer.Configuration(
                authentication: authentication, host: host, port: port,
                upgradeTimeout: Self.duration(seconds: upgradeTimeout),
                maxConnections: maxConnections)
            let exporter: @Sendable () -> [UInt8] = { prometheus.emitToBuffer() }
            if metricsPort == nil { configuration.metricsExporter = exporter }
            if let tlsCertificate, let tlsKey {
                configuration.tls = ServerTLS(certificateChainPath: tlsCertificate, privateKeyPath: tlsKey)
            }
            let shownHost = host.contains(":") ? "[\(host)]" : host
            let scheme = configuration.tls == nil ? "ws" : "wss"
            let path = configuration.path
            let summary = "streamkit: serving \(serving), \(describe(authentication))); SIGINT or SIGTERM stops"
            configuration.onServerRunning = { bound in
                Output.line("\(scheme)://\(shownHost):\(bound)\(path)")
                Output.error(summary)
            }
            let server = StreamKitServer(registry: registry, configuration: configuration)

            // Before listening: from now on a signal stops cleanly (a second one at once).
            let watcher = SignalWatcher(forceExitOnSecond: true)
            let signals = SignalService(watcher: watcher) { signal in
                Output.error("streamkit: \(SignalWatcher.name(signal)) received, shutting down")
            }
            // Started in this order and shut down in the reverse one: the server stops before the stores close, and
            // the stores close before the database connections their last commits use.
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
            if let database { services.append(.init(service: database)) }
            services.append(.init(service: registry))
            services.append(.init(service: server))
            if let metricsPort {
                let listener = MetricsListener(server: server, host: host, port: metricsPort, exporter: exporter) {
                    bound in
                    Output.error("streamkit: metrics at http://\(shownHost):\(bound)/metrics")
                }
                services.append(.init(service: listener))
            }
            services.append(.init(service: signals, successTerminationBehavior: .gracefullyShutdownGroup))
            var lifecycleLogger = Logger(label: "streamkit.lifecycle")
            lifecycleLogger.logLevel = level
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(services: services, logger: lifecycleLogger))
            do {
                try await group.run()
            } catch let error as StreamKitError {  // The configuration, e.g. a PEM that is no usable key.
                let isTLS = error.message.contains("TLS")
                throw CLIError(isTLS ? error.message : jwtPublicKey.map { "\($0): \(error.message)" } ?? error.message)
            } catch {
                throw CLIError("cannot listen on \(host):\(port): \(error)")
            }
            Output.error("streamkit: stopped")
        }
    }

    /// `seconds` (from a command-line option) as a duration, rounded up to whole milliseconds.
    private static func duration(seconds: Double) -> Duration { .milliseconds(Int64((seconds * 1000).rounded(.up))) }

    /// The authentication chosen on the command line or in the environment.
    private func authentication() throws -> ServerAuthentication {
        if noAuth { return .none }
        if let jwtPublicKey {
            guard let pem = try? String(contentsOfFile: jwtPublicKey, encoding: .utf8) else {
                throw CLIError("\(jwtPublicKey): cannot read the public key file")
            }
            return .publicKey(pem: pem)
        }
        let secret = jwtSecret ?? environmentSecret ?? ""
        return .hmac(secret: Array(secret.utf8))
    }

    private func describe(_ authentication: ServerAuthentication) -> String {
        switch authentication {
        case .none: "no authentication"
        case .hmac: "HS256 tokens"
        case .publicKey: "public-key tokens"
        }
    }

    /// Creates the data directory when missing and checks that it is a writable directory.
    private func prepare(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw CLIError("\(path): not a directory") }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw CLIError("\(path): cannot create the data directory (\(error.localizedDescription))")
            }
        }
        guard access(path, W_OK | X_OK) == 0 else { throw CLIError("\(path): the data directory is not writable") }
    }
}
