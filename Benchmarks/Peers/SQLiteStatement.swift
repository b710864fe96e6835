import CSQLite

/// A prepared statement; reused for every row. Finalized by `finalize()` or on deinit.
final class SQLiteStatement {
    private(set) var handle: OpaquePointer?
    /// Kept so the connection outlives its statements.
    let database: SQLiteDatabase

    init(handle: OpaquePointer, database: SQLiteDatabase) {
        self.handle = handle
        self.database = database
    }

    deinit {
        sqlite3_finalize(handle)
    }

    func finalize() {
        sqlite3_finalize(handle)
        handle = nil
    }

    /// Steps a statement that returns no rows (`BEGIN`, `COMMIT`) and resets it.
    @inline(__always)
    func run(_ operation: StaticString) throws(PeerError) {
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else { throw database.error("\(operation)", code: code) }
    }
}
