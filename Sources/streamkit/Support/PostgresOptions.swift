import ArgumentParser
import Foundation
import Logging
import StreamKitEngine
import StreamKitPostgres

/// `--postgres URL`, for the commands that serve or read stores kept in PostgreSQL instead of a data directory
/// (`serve`, `inspect`, `verify`, `dump`). The URL can also come from `STREAMKIT_POSTGRES_URL` (used only when
/// the command is given neither a directory nor `--postgres`), and the password from
/// `STREAMKIT_POSTGRES_PASSWORD` (used when the URL holds none), so that neither shows in `ps`.
struct PostgresOptions: ParsableArguments {
    /// The environment variable read when neither `--postgres` nor a directory is given.
    static let urlVariable = "STREAMKIT_POSTGRES_URL"
    /// The environment variable holding the password, when the URL has none.
    static let passwordVariable = "STREAMKIT_POSTGRES_PASSWORD"

    @Option(
        name: .customLong("postgres"),
        help: ArgumentHelp(
            "Stores in this PostgreSQL database instead of a directory: postgres://USER@HOST:PORT/DATABASE[?sslmode=disable|prefer|require] (or set \(urlVariable); the password in \(passwordVariable)).",
            valueName: "url"))
    var url: String?

    /// The URL from `--postgres`, else from the environment when the command names no directory (`hasDirectory`).
    func resolvedURL(hasDirectory: Bool) -> (url: String, source: String)? {
        if let url { return (url, "--postgres") }
        guard !hasDirectory, let value = ProcessInfo.processInfo.environment[Self.urlVariable], !value.isEmpty else {
            return nil
        }
        return (value, Self.urlVariable)
    }

    /// The database's location: the parsed URL with the password from the environment when the URL has none.
    /// - Throws: `ValidationError` (usage, status 64) naming the option or variable for a URL that does not parse.
    static func location(url: String, source: String) throws -> PostgresLocation {
        var location: PostgresLocation
        do {
            location = try PostgresLocation(url: url)
        } catch let error as StreamKitError {
            throw ValidationError("\(source): \(error.message) (expected postgres://USER@HOST:PORT/DATABASE)")
        }
        if location.password == nil, let password = ProcessInfo.processInfo.environment[passwordVariable],
            !password.isEmpty
        {
            location.password = password
        }
        return location
    }

    /// Checks `--postgres` against a directory given to the same command: one or the other.
    /// - Throws: `ValidationError` when both are given, or when the URL does not parse.
    func validate(directoryOption: String, hasDirectory: Bool) throws {
        if url != nil && hasDirectory {
            throw ValidationError("give either \(directoryOption) or --postgres URL, not both")
        }
        if let (url, source) = resolvedURL(hasDirectory: hasDirectory) {
            _ = try Self.location(url: url, source: source)
        }
    }

    /// Connects to the database (and creates or migrates StreamKit's tables).
    /// - Throws: `CLIError` (status 1) naming the database (without its password) when it cannot be reached.
    static func connect(
        _ location: PostgresLocation, options: PostgresLog.Options = .init(), logger: Logger
    ) async throws -> PostgresLog {
        do {
            return try await PostgresLog.connect(location, options: options, logger: logger)
        } catch let error as StreamKitError {
            throw CLIError("cannot use PostgreSQL at \(location.redacted): \(error.message)")
        } catch {
            throw CLIError("cannot use PostgreSQL at \(location.redacted): \(error)")
        }
    }
}
