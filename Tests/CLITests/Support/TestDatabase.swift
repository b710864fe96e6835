import Foundation

/// The PostgreSQL server of the CLI tests: `STREAMKIT_TEST_POSTGRES_URL`, which `scripts/test.sh` sets after
/// starting a private cluster (the same rule as the engine tests' `TestPostgres`). Without it these tests fail
/// (they never skip): run them through `scripts/test.sh`, or point the variable at a database you own.
enum TestDatabase {
    static let urlVariable = "STREAMKIT_TEST_POSTGRES_URL"

    /// The server's URL, or a failure naming the variable.
    static func url() throws -> String {
        guard let url = ProcessInfo.processInfo.environment[urlVariable], !url.isEmpty else { throw MissingServer() }
        return url
    }

    /// `url` with `password` put in (the test cluster trusts loopback, so any password is accepted unread).
    static func url(withPassword password: String) throws -> String {
        let url = try url()
        guard var components = URLComponents(string: url) else { return url }
        components.password = password
        return components.string ?? url
    }

    /// Runs one SQL statement with `psql` (tests that damage rows on purpose).
    /// - Throws: when psql is missing or the statement fails.
    static func psql(_ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try psqlPath())
        process.arguments = [try url(), "-v", "ON_ERROR_STOP=1", "-q", "-c", sql]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PsqlFailed(
                description: "psql failed (\(process.terminationStatus)): \(String(decoding: message, as: UTF8.self))")
        }
    }

    /// `psql` in PATH, or beside the server in Debian's `/usr/lib/postgresql/*/bin` (newest first).
    private static func psqlPath() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":")
        where FileManager.default.isExecutableFile(atPath: "\(directory)/psql") {
            return "\(directory)/psql"
        }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            let candidate = "/usr/lib/postgresql/\(version)/bin/psql"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw PsqlFailed(
            description: "psql not found (PATH or /usr/lib/postgresql/*/bin); install the PostgreSQL client")
    }

    struct MissingServer: Error, CustomStringConvertible {
        var description: String {
            "\(TestDatabase.urlVariable) is not set: run the tests with scripts/test.sh (it starts a private PostgreSQL)"
        }
    }

    struct PsqlFailed: Error, CustomStringConvertible {
        var description: String
    }
}
