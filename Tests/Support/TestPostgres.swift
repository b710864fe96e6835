public import Foundation
public import Logging
public import StreamKitPostgres

/// The PostgreSQL server of the engine and client tests: `STREAMKIT_TEST_POSTGRES_URL`, which `scripts/test.sh`
/// sets after starting a private cluster. Without it the PostgreSQL tests fail (they never skip): run them through
/// `scripts/test.sh` or point the variable at a database you own (the tests create tables in it).
public enum TestPostgres {
    public static let urlVariable = "STREAMKIT_TEST_POSTGRES_URL"

    /// The server's location, or a failure naming the variable.
    public static func location() throws -> PostgresLocation {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment[urlVariable], !url.isEmpty else {
            throw MissingServer()
        }
        var location = try PostgresLocation(url: url)
        // A cluster of scripts/postgres.sh: through its unix socket, so that the tests' many connections take no
        // TCP ports (a test server restarting on its port could otherwise find it taken by one).
        if location.socketDirectory == nil, let directory = environment["STREAMKIT_TEST_POSTGRES_DIR"],
            FileManager.default.fileExists(atPath: directory + "/sock")
        {
            location.socketDirectory = directory + "/sock"
        }
        return location
    }

    /// A log shared by every test of the process (one pool and one listener), connected on first use.
    public static func log() async throws -> PostgresLog { try await shared.value }

    /// A second, separate log: another node as far as the database can tell.
    public static func node(options: PostgresLog.Options = .init()) async throws -> PostgresLog {
        try await PostgresLog.connect(try location(), options: options, logger: quietLogger)
    }

    private static let shared = Task<PostgresLog, any Error> {
        try await PostgresLog.connect(try location(), logger: quietLogger)
    }

    public static var quietLogger: Logger {
        var logger = Logger(label: "streamkit.postgres.test")
        logger.logLevel = .warning
        return logger
    }

    public struct MissingServer: Error, CustomStringConvertible {
        public var description: String {
            "\(TestPostgres.urlVariable) is not set: run the tests with scripts/test.sh (it starts a private PostgreSQL)"
        }
    }
}

extension TestPostgres {
    /// Rows (group-committed database transactions) of a store.
    public static func rowCount(store: UUID) async throws -> Int {
        let log = try await log()
        return try await log.rowCount(store: store)
    }
}
