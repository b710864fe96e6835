import ArgumentParser
import Foundation
import Logging
import StreamKitEngine
import StreamKitPostgres

/// The stores of a PostgreSQL database as the offline tools (`inspect`, `verify`, `dump`) read them: through a
/// connection of their own, each store opened without creating it and read with the engine's read API (the
/// same rows every node reads). Nothing is written, so this works beside live `streamkit serve` nodes.
struct PostgresStores {
    let log: PostgresLog
    let location: PostgresLocation

    /// Connects to `location`, runs `body`, and closes the connections (also when `body` throws).
    /// - Throws: `CLIError` (status 1) when the database cannot be reached; what `body` throws.
    static func with<Result>(
        _ location: PostgresLocation, _ body: (PostgresStores) async throws -> Result
    ) async throws -> Result {
        var options = PostgresLog.Options()
        options.maxConnections = 4
        let log = try await PostgresOptions.connect(
            location, options: options, logger: quietLogger("streamkit.postgres"))
        do {
            let result = try await body(PostgresStores(log: log, location: location))
            await log.close()
            return result
        } catch {
            await log.close()
            throw error
        }
    }

    /// A logger that stays quiet: the tools report what goes wrong themselves, in one line.
    private static func quietLogger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = .critical
        return logger
    }

    /// The store `only` (checked to exist), or every store in the database.
    /// - Throws: `CLIError` (status 1) for a store that does not exist or a database that fails.
    func ids(only: UUID?) async throws -> [UUID] {
        do {
            if let only {
                guard try await log.storeExists(only) else { throw missing(only) }
                return [only]
            }
            return try await log.storeIDs()
        } catch let error as StreamKitError {
            throw CLIError(error.message)
        }
    }

    /// Opens store `id` (never creating it), runs `body` with it and closes it.
    /// - Throws: `CLIError` — status 1 for a store that does not exist or a database that fails, status 2
    ///   (``DamageHandling/exitCode``) for rows that do not fit together (`corrupt`); what `body` throws.
    func withStore<Result>(_ id: UUID, _ body: (Store) async throws -> Result) async throws -> Result {
        var configuration = StoreConfiguration()
        configuration.logger = Self.quietLogger("streamkit.engine")
        configuration.log.logger = Self.quietLogger("streamkit.log")
        configuration.scrub.isEnabled = false
        let opened: Store?
        do {
            opened = try await log.openStore(id: id, configuration: configuration, creating: false)
        } catch let error as StreamKitError where error.code == .corrupt {  // The message names the store.
            throw CLIError(error.message, exitCode: DamageHandling.exitCode)
        } catch let error as StreamKitError {
            throw CLIError("\(id.uuidString.lowercased()): \(error.message)")
        }
        guard let store = opened else { throw missing(id) }
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    private func missing(_ id: UUID) -> CLIError {
        CLIError("\(location.redacted): no store \(id.uuidString.lowercased())")
    }

    /// Every entry of `store` in log (commit) order: all its spaces merged.
    static func everything(_ store: Store) async -> SpaceEntries {
        let spaces = await store.spaces()
        return store.consume(spaces: Dictionary(uniqueKeysWithValues: spaces.map { ($0, Offset.start) }))
    }

    /// The damaged rows a read of `store` met, for its message (the engine names them by position).
    static func damage(_ store: Store, _ error: StreamKitError) -> String {
        let blocks = store.damagedBlocks
        guard !blocks.isEmpty else { return error.message }
        return blocks.map { "row at positions \($0.firstPosition)…\($0.lastPosition): \($0.reason)" }.joined(
            separator: "; ")
    }
}
