import CSQLite

/// One SQLite connection (C API), closed by `close()` or on deinit.
final class SQLiteDatabase {
    let path: String
    private(set) var handle: OpaquePointer?

    init(path: String) throws(PeerError) {
        self.path = path
        var connection: OpaquePointer?
        let code = sqlite3_open_v2(
            path, &connection, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard code == SQLITE_OK, let connection else {
            let message =
                connection.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(connection)
            throw .sqlite(operation: "open \(path)", code: code, message: message)
        }
        handle = connection
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Runs SQL that returns no rows we need (pragmas, DDL). Rows, if any, are ignored.
    func execute(_ sql: String) throws(PeerError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        guard code == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? lastErrorMessage
            sqlite3_free(errorMessage)
            throw .sqlite(operation: sql, code: code, message: message)
        }
    }

    /// The first column of the first row of `sql` as text (e.g. `PRAGMA journal_mode`).
    func scalarText(_ sql: String) throws(PeerError) -> String? {
        let statement = try prepare(sql)
        defer { statement.finalize() }
        let code = sqlite3_step(statement.handle)
        guard code == SQLITE_ROW || code == SQLITE_DONE else { throw error(sql, code: code) }
        guard code == SQLITE_ROW, let text = sqlite3_column_text(statement.handle, 0) else { return nil }
        return String(cString: text)
    }

    func prepare(_ sql: String) throws(PeerError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else { throw error("prepare \(sql)", code: code) }
        return SQLiteStatement(handle: statement, database: self)
    }

    /// Closes the connection (finalize statements first; otherwise SQLite defers the close).
    func close() throws(PeerError) {
        guard let connection = handle else { return }
        let code = sqlite3_close_v2(connection)
        guard code == SQLITE_OK else { throw error("close", code: code) }
        handle = nil
    }

    var lastErrorMessage: String {
        handle.map { String(cString: sqlite3_errmsg($0)) } ?? "connection closed"
    }

    /// A `PeerError` for `operation` with SQLite's current message.
    func error(_ operation: String, code: Int32) -> PeerError {
        .sqlite(operation: operation, code: code, message: lastErrorMessage)
    }
}
